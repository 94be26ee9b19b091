using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Push;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// Drains <c>unsubscribe-push-poison</c>: a push that exhausted its attempts is marked failed in the
/// ledger, so nothing waits silently in a poison queue and the nightly sync retries it.
/// </summary>
public sealed class RecordPushFailure(IPushService push)
{
    [Function(nameof(RecordPushFailure))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.PushQueueSetting + "%-poison")] QueueMessage message, CancellationToken cancellationToken)
    {
        return push.RecordFailureAsync(message.MessageText, cancellationToken);
    }
}
