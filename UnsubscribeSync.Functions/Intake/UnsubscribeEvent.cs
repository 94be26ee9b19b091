using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>Whether an event withdraws or restores consent.</summary>
public enum ConsentEventType
{
    Unsubscribe,
    Resubscribe,
}

/// <summary>A validated, normalized event from the webhook (or, later, from the nightly sync).</summary>
/// <param name="Id">The caller's idempotency key.</param>
/// <param name="Type">Unsubscribe or resubscribe.</param>
/// <param name="Email">The normalized address.</param>
/// <param name="SalesforceId">The Contact or Lead it names, when the caller knows it.</param>
/// <param name="OccurredAt">When it happened at its source; orders events.</param>
/// <param name="ReceivedAt">When we accepted it.</param>
/// <param name="Source">link, manual, bounce, salesforce or other, when given.</param>
/// <param name="Reason">Free text from the person or sender.</param>
public sealed record UnsubscribeEvent(
    string Id,
    ConsentEventType Type,
    EmailAddress Email,
    SalesforceId? SalesforceId,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    string? Source,
    string? Reason)
{
    /// <summary>The sources a caller may name.</summary>
    public static readonly IReadOnlyList<string> Sources = ["link", "manual", "bounce", "salesforce", "other"];

    /// <summary>The type as it is written in JSON and storage.</summary>
    public string TypeName => Type == ConsentEventType.Unsubscribe ? "unsubscribe" : "resubscribe";
}
