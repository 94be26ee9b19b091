using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>Puts sync batches on the <c>sync-batches</c> queue (Base64, as the trigger expects).</summary>
public interface ISyncBatchQueue
{
    Task SendAsync(SyncBatchMessage batch, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class SyncBatchQueue(StorageClients clients, IOptions<StorageOptions> options) : ISyncBatchQueue
{
    public async Task SendAsync(SyncBatchMessage batch, CancellationToken cancellationToken)
    {
        var queue = clients.Queues.GetQueueClient(options.Value.SyncBatchQueue);
        await queue.SendMessageAsync(batch.ToJson(), cancellationToken);
    }
}
