using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>Whether an event withdraws or restores consent.</summary>
public enum ConsentEventType
{
    Unsubscribe,
    Resubscribe,
}

/// <summary>
/// A consent change as the ledger takes it, whoever observed it: a webhook call (Intake) or a change read
/// from a Salesforce record (the nightly sync's inbound pass).
/// </summary>
/// <param name="Id">The idempotency key: the caller's event id, or one derived from the Salesforce change.</param>
/// <param name="Type">Unsubscribe or resubscribe.</param>
/// <param name="Email">The normalized address.</param>
/// <param name="SalesforceId">The record it names, when known.</param>
/// <param name="OccurredAt">When it happened at its source; orders events.</param>
/// <param name="ReceivedAt">When we accepted it.</param>
/// <param name="Source">link, manual, bounce, salesforce or other, when given.</param>
/// <param name="Reason">Free text from the person or sender.</param>
/// <param name="ReadFromRecord">
/// True when the change was read from <paramref name="SalesforceId"/> itself: that record already holds the
/// value, so its link is confirmed at once instead of owing a write.
/// </param>
/// <param name="ReadField">The field the change was read on (with <paramref name="ReadFromRecord"/>): the link is confirmed on it.</param>
public sealed record ConsentEvent(
    string Id,
    ConsentEventType Type,
    EmailAddress Email,
    SalesforceId? SalesforceId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string? Source,
    string? Reason,
    bool ReadFromRecord = false,
    string? ReadField = null)
{
    /// <summary>The sources a caller may name.</summary>
    public static readonly IReadOnlyList<string> Sources = ["link", "manual", "bounce", "salesforce", "other"];

    /// <summary>The type as it is written in JSON and storage.</summary>
    public string TypeName => Type == ConsentEventType.Unsubscribe ? "unsubscribe" : "resubscribe";

    /// <summary>The value every record linked to the address should hold after this event wins.</summary>
    public bool OptOut => Type == ConsentEventType.Unsubscribe;
}
