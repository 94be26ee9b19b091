using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>Moves an address's recorded consent changes into the change feed and queues the notifications they owe.</summary>
public sealed class PublishConsentChanges(ConsentFeedWorker worker)
{
    [Function(nameof(PublishConsentChanges))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.ConsentFeedQueueSetting + "%")] QueueMessage message, CancellationToken cancellationToken)
    {
        return worker.PublishAsync(message.MessageText, cancellationToken);
    }
}
