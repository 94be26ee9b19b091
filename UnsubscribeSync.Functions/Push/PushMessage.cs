using System.Text.Json;
using System.Text.Json.Serialization;

namespace UnsubscribeSync.Functions.Push;

/// <summary>
/// The <c>unsubscribe-push</c> queue message: which linked Salesforce record of which address to
/// bring in line with the ledger. It carries no email address; the worker reads the ledger, so a
/// message that arrives late or twice still writes the ledger's current truth.
/// </summary>
/// <param name="Version">Contract version; bumped on breaking changes.</param>
/// <param name="EmailKey">The ledger partition (SHA-256 of the normalized address).</param>
/// <param name="SalesforceId">The 18-character Contact or Lead Id.</param>
/// <param name="ObjectType">Contact or Lead.</param>
/// <param name="OptOut">The value the event asked for (the ledger's value wins if it has moved on).</param>
/// <param name="EventId">The event that caused this push.</param>
/// <param name="OccurredAt">When that event happened.</param>
/// <param name="EnqueuedAt">When we queued it (for latency measurement).</param>
public sealed record PushMessage(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("emailKey")] string EmailKey,
    [property: JsonPropertyName("salesforceId")] string SalesforceId,
    [property: JsonPropertyName("objectType")] string ObjectType,
    [property: JsonPropertyName("optOut")] bool OptOut,
    [property: JsonPropertyName("eventId")] string EventId,
    [property: JsonPropertyName("occurredAt")] DateTimeOffset OccurredAt,
    [property: JsonPropertyName("enqueuedAt")] DateTimeOffset EnqueuedAt)
{
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a message; throws <see cref="JsonException"/> or <see cref="FormatException"/> when it is not one of ours.</summary>
    public static PushMessage FromJson(string json)
    {
        var message = JsonSerializer.Deserialize<PushMessage>(json, JsonOptions)
            ?? throw new FormatException("The push message is empty.");
        if (message.Version != CurrentVersion || string.IsNullOrEmpty(message.EmailKey) || string.IsNullOrEmpty(message.SalesforceId))
        {
            throw new FormatException($"Unsupported push message (version {message.Version}).");
        }

        return message;
    }
}
