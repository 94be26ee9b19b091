using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>One change as the feed, its CSV and the notifications show it.</summary>
public sealed record ConsentChangeView(
    long Sequence,
    string Email,
    string State,
    DateTimeOffset Since,
    string Type,
    string? Source,
    string Channel,
    string? EventId,
    string? SalesforceId,
    DateTimeOffset? OccurredAt,
    DateTimeOffset ChangedAt,
    long Version)
{
    public static ConsentChangeView From(FeedEntryEntity e) => new(
        e.Sequence, e.Email, ConsentViews.StateName(e.State), e.StateSince, e.Type, e.Source, e.Channel, e.EventId, e.SalesforceId, e.OccurredAt, e.ChangedAt, e.Version);
}

/// <summary>A page of the change feed.</summary>
/// <param name="Changes">The changes, in feed order.</param>
/// <param name="Next">The cursor to pass as <c>since</c> for the following page (or to poll for new changes).</param>
/// <param name="HasMore">Whether more changes were already in the feed when this page was read.</param>
public sealed record ConsentChangesPage(IReadOnlyList<ConsentChangeView> Changes, string Next, bool HasMore);

/// <summary>One linked Salesforce record, as the consent lookup shows it.</summary>
public sealed record ConsentLinkView(
    string SalesforceId,
    string ObjectType,
    string Status,
    bool DesiredOptOut,
    string LinkedFrom,
    DateTimeOffset LinkedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? SyncedAt,
    int Attempts,
    string? LastErrorCode,
    string? LastErrorMessage,
    DateTimeOffset? OwedSince,
    string? RedirectedTo)
{
    public static ConsentLinkView From(RecordLinkEntity l) => new(
        l.SalesforceId, l.ObjectType, l.Status.ToString(), l.DesiredOptOut, l.LinkedFrom, l.LinkedAt, l.UpdatedAt, l.SyncedAt, l.Attempts,
        l.LastErrorCode, l.LastErrorMessage, l.OwedSince, l.RedirectedTo);
}

/// <summary>One audit entry, as the consent lookup shows it.</summary>
public sealed record ConsentAuditView(
    DateTimeOffset RecordedAt,
    string Kind,
    string? EventId,
    string? Type,
    string? Source,
    string Channel,
    DateTimeOffset? OccurredAt,
    DateTimeOffset? ReceivedAt,
    string? Reason,
    string? SalesforceId,
    string? Records,
    string Outcome,
    string? Detail)
{
    public static ConsentAuditView From(AuditEntity a) => new(
        a.RecordedAt, a.Kind, a.EventId, a.Type, a.Source, a.Channel, a.OccurredAt, a.ReceivedAt, a.Reason, a.SalesforceId, a.Records, a.Outcome, a.Detail);
}

/// <summary>An address's consent, its linked records and its audit trail: the evidence for a compliance request.</summary>
public sealed record ConsentView(
    string Email,
    string EmailKey,
    string State,
    DateTimeOffset Since,
    DateTimeOffset DecidedAt,
    string? EventId,
    string? Source,
    bool AwaitingSalesforceId,
    DateTimeOffset FirstSeenAt,
    DateTimeOffset UpdatedAt,
    long Version,
    IReadOnlyList<ConsentLinkView> Links,
    IReadOnlyList<ConsentAuditView> Audit,
    bool AuditTruncated)
{
    public static ConsentView From(LedgerRecord record, IReadOnlyList<AuditEntity> audit, bool truncated)
    {
        var s = record.State;
        return new ConsentView(
            s.Email, s.PartitionKey, ConsentViews.StateName(s.State), s.StateSince, s.DecidedAt, s.StateEventId, s.StateSource,
            s.AwaitingSalesforceId, s.CreatedAt, s.UpdatedAt, s.Version,
            record.Links.OrderBy(l => l.LinkedAt).Select(ConsentLinkView.From).ToList(),
            audit.Select(ConsentAuditView.From).ToList(),
            truncated);
    }
}

public static class ConsentViews
{
    /// <summary>The state as the API writes it: <c>unsubscribed</c> or <c>subscribed</c>.</summary>
    public static string StateName(string state) => state.ToLowerInvariant();
}
