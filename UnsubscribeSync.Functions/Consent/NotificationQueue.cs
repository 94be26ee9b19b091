using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// The <c>notify</c> queue message: which feed entry to notify the sender of. It carries no address (queues and their
/// poison queues are easy to browse); the sender reads the entry from the feed when it posts.
/// </summary>
public sealed record NotificationMessage(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("sequence")] long Sequence)
{
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a message; throws <see cref="JsonException"/> or <see cref="FormatException"/> when it is not one of ours.</summary>
    public static NotificationMessage FromJson(string json)
    {
        var message = JsonSerializer.Deserialize<NotificationMessage>(json, JsonOptions)
            ?? throw new FormatException("The notification message is empty.");
        if (message.Version != CurrentVersion || message.Sequence < 1)
        {
            throw new FormatException($"Unsupported notification message (version {message.Version}).");
        }

        return message;
    }
}

/// <summary>Puts notifications on the <c>notify</c> queue.</summary>
public interface INotificationQueue
{
    Task SendAsync(long sequence, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class NotificationQueue(StorageClients clients, IOptions<StorageOptions> options) : INotificationQueue
{
    public async Task SendAsync(long sequence, CancellationToken cancellationToken)
    {
        var queue = clients.Queues.GetQueueClient(options.Value.NotifyQueue);
        await queue.SendMessageAsync(new NotificationMessage(NotificationMessage.CurrentVersion, sequence).ToJson(), cancellationToken);
    }
}
