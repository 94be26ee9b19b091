using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// Drains <c>sync-batches-poison</c>: a batch whose message exhausted its attempts is recorded as abandoned in its run,
/// so the run can close (keeping the watermark if it was an inbound page) instead of waiting for the next night.
/// </summary>
public sealed class RecordSyncBatchFailure(ISyncBatchRunner runner)
{
    [Function(nameof(RecordSyncBatchFailure))]
    public Task Run([QueueTrigger("%" + Configuration.StorageOptions.SyncBatchQueueSetting + "%-poison")] QueueMessage message, CancellationToken cancellationToken)
    {
        return runner.RecordPoisonedAsync(message.MessageText, cancellationToken);
    }
}
