using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// Drains <c>notify-poison</c>: a notification that exhausted its attempts is recorded as failed in the feed table and
/// in the address's audit trail, so none is lost silently.
/// </summary>
public sealed class RecordNotificationFailure(NotificationSender sender)
{
    [Function(nameof(RecordNotificationFailure))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.NotifyQueueSetting + "%-poison")] QueueMessage message, CancellationToken cancellationToken)
    {
        return sender.RecordFailureAsync(message.MessageText, cancellationToken);
    }
}
