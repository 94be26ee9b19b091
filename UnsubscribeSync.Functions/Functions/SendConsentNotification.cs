using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>POSTs one signed notification of a consent change to <c>Notify__Url</c>; a failure throws, so the queue retries.</summary>
public sealed class SendConsentNotification(NotificationSender sender)
{
    [Function(nameof(SendConsentNotification))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.NotifyQueueSetting + "%")] QueueMessage message, CancellationToken cancellationToken)
    {
        return sender.SendAsync(message.MessageText, message.DequeueCount, cancellationToken);
    }
}
