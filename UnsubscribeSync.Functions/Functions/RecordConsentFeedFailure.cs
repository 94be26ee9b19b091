using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// Drains <c>consent-feed-poison</c>: tries the publication once more and otherwise logs it, so nothing waits in a
/// poison queue; the changes stay in the ledger and the sweep publishes them.
/// </summary>
public sealed class RecordConsentFeedFailure(ConsentFeedWorker worker)
{
    [Function(nameof(RecordConsentFeedFailure))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.ConsentFeedQueueSetting + "%-poison")] QueueMessage message, CancellationToken cancellationToken)
    {
        return worker.RecordPoisonedAsync(message.MessageText, cancellationToken);
    }
}
