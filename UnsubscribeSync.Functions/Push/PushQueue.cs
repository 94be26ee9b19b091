using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Push;

/// <summary>Puts push work on the <c>unsubscribe-push</c> queue.</summary>
public interface IPushQueue
{
    Task SendAsync(PushMessage message, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class PushQueue(StorageClients clients, IOptions<StorageOptions> options) : IPushQueue
{
    public async Task SendAsync(PushMessage message, CancellationToken cancellationToken)
    {
        var queue = clients.Queues.GetQueueClient(options.Value.PushQueue);
        await queue.SendMessageAsync(message.ToJson(), cancellationToken);
    }
}
