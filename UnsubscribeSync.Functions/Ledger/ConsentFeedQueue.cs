using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>
/// The <c>consent-feed</c> queue message: an address whose recorded changes wait to enter the change feed. It names
/// the ledger key only (no address); the worker reads what is waiting, so a repeated or late message is harmless.
/// </summary>
public sealed record ConsentFeedMessage(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("emailKey")] string EmailKey)
{
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a message; throws <see cref="JsonException"/> or <see cref="FormatException"/> when it is not one of ours.</summary>
    public static ConsentFeedMessage FromJson(string json)
    {
        var message = JsonSerializer.Deserialize<ConsentFeedMessage>(json, JsonOptions)
            ?? throw new FormatException("The consent feed message is empty.");
        if (message.Version != CurrentVersion || string.IsNullOrEmpty(message.EmailKey) || message.EmailKey.Length != 64)
        {
            throw new FormatException($"Unsupported consent feed message (version {message.Version}).");
        }

        return message;
    }
}

/// <summary>Asks for an address's waiting changes to be moved into the feed.</summary>
public interface IConsentFeedQueue
{
    Task SendAsync(string emailKey, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class ConsentFeedQueue(StorageClients clients, IOptions<StorageOptions> options) : IConsentFeedQueue
{
    public async Task SendAsync(string emailKey, CancellationToken cancellationToken)
    {
        var queue = clients.Queues.GetQueueClient(options.Value.ConsentFeedQueue);
        await queue.SendMessageAsync(new ConsentFeedMessage(ConsentFeedMessage.CurrentVersion, emailKey).ToJson(), cancellationToken);
    }
}
