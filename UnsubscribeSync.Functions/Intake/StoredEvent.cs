using System.Text.Json;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>The JSON form of a validated event kept in the intake record, so a half-finished intake can be re-driven.</summary>
internal sealed record StoredEvent(
    string Id,
    string Type,
    string Email,
    string? SalesforceId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string? Source,
    string? Reason)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static string Serialize(ConsentEvent e) => JsonSerializer.Serialize(
        new StoredEvent(e.Id, e.TypeName, e.Email.Value, e.SalesforceId?.Value, e.OccurredAt, e.ReceivedAt, e.Source, e.Reason),
        JsonOptions);

    public static ConsentEvent Deserialize(string json)
    {
        var stored = JsonSerializer.Deserialize<StoredEvent>(json, JsonOptions) ?? throw new FormatException("Stored event is empty.");
        return new ConsentEvent(
            stored.Id,
            stored.Type == "resubscribe" ? ConsentEventType.Resubscribe : ConsentEventType.Unsubscribe,
            EmailAddress.FromNormalized(stored.Email),
            stored.SalesforceId is null ? null : Shared.SalesforceId.Parse(stored.SalesforceId),
            stored.OccurredAt,
            stored.ReceivedAt,
            stored.Source,
            stored.Reason);
    }
}
