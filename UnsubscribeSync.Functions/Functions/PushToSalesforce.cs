using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Push;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>Writes each queued unsubscribe to its Salesforce Contact or Lead in real time.</summary>
public sealed class PushToSalesforce(IPushService push)
{
    [Function(nameof(PushToSalesforce))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.PushQueueSetting + "%")] QueueMessage message, CancellationToken cancellationToken)
    {
        return push.PushAsync(message.MessageText, message.DequeueCount, cancellationToken);
    }
}
