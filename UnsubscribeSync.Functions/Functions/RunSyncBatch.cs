using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>Runs one nightly-sync batch from the <c>%SyncBatchQueueName%</c> queue and records its result under the run.</summary>
public sealed class RunSyncBatch(ISyncBatchRunner runner)
{
    [Function(nameof(RunSyncBatch))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.SyncBatchQueueSetting + "%")] QueueMessage message, CancellationToken cancellationToken)
    {
        return runner.RunAsync(message.MessageText, message.DequeueCount, cancellationToken);
    }
}
