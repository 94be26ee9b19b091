using Azure;
using Azure.Data.Tables;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>Consent state of one address.</summary>
public enum ConsentState
{
    Subscribed,
    Unsubscribed,
}

/// <summary>Where one linked Salesforce record stands with respect to the address's consent.</summary>
public enum LinkStatus
{
    /// <summary>A write is owed to Salesforce.</summary>
    Pending,

    /// <summary>Salesforce holds the desired value.</summary>
    Synced,

    /// <summary>Salesforce refused the write permanently; the reason is kept; the nightly sync retries.</summary>
    Failed,

    /// <summary>Put off to protect the org's API allocation; the nightly sync picks it up.</summary>
    Deferred,

    /// <summary>A configuration problem (such as a missing field) stops writes until an admin fixes it.</summary>
    Blocked,

    /// <summary>The record is gone (deleted, not merged); nothing more can be written to it.</summary>
    Dead,

    /// <summary>Nothing needs writing (for example a resubscribe while resubscribes are not pushed).</summary>
    NotRequired,
}

/// <summary>
/// The ledger's row for one address: partition = the address key, row key <see cref="RowKeyValue"/>.
/// Linked Salesforce records live in the same partition so one transaction updates both.
/// </summary>
public sealed class ConsentStateEntity : ITableEntity
{
    public const string RowKeyValue = "state";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>The normalized address (needed to look people up in Salesforce by email).</summary>
    public string Email { get; set; } = string.Empty;

    public string State { get; set; } = nameof(ConsentState.Subscribed);

    /// <summary>When the current state began (the first event of the current run of equal states).</summary>
    public DateTimeOffset StateSince { get; set; }

    /// <summary>When the latest event that affirmed the current state happened: the ordering point for later events.</summary>
    public DateTimeOffset DecidedAt { get; set; }

    public string? StateSource { get; set; }

    public string? StateEventId { get; set; }

    /// <summary>True while the address is known to us but linked to no Salesforce record.</summary>
    public bool AwaitingSalesforceId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>
    /// How many times the state has changed: each change is numbered, so the change feed carries an address's
    /// changes in the order they happened. 0 on rows written before the feed existed (the feed's backfill numbers them).
    /// </summary>
    public long Version { get; set; }

    public ConsentState ConsentState => Enum.Parse<ConsentState>(State);
}

/// <summary>
/// One Salesforce record linked to an address (row key <c>link|{18-char Id}</c>): the value Salesforce should
/// hold and where getting it there stands. The link is a small state machine; its fields change only through
/// the transitions below, each of which sets every field it owns. The properties have public setters because
/// the Tables SDK fills them when reading a row; no code outside these methods assigns them.
/// </summary>
/// <remarks>
/// Field ownership: <see cref="DesiredOptOut"/> and <see cref="RequestedByEventId"/> say what is wanted;
/// <see cref="SyncedAt"/>, <see cref="SyncedEventId"/> and <see cref="SyncedField"/> what Salesforce last confirmed, and on which field; <see cref="Attempts"/>,
/// <see cref="LastErrorCode"/> and <see cref="LastErrorMessage"/> how the writes since the last request went;
/// <see cref="RedirectedTo"/> which record took over a converted or merged one; <see cref="OwedSince"/> when the
/// current debt of a write began (set by <see cref="Create"/>, by <see cref="Request"/> for a new value or a link that
/// owed nothing, by <see cref="Reopen"/> and <see cref="Revive"/>; cleared by <see cref="MarkSynced"/>,
/// <see cref="MarkNotRequired"/>, <see cref="MarkDead"/> and <see cref="MarkRedirected"/>; failures and deferrals
/// keep it), which the sync's budget compares with <c>Sync__MaxDeferral</c>.
/// A <see cref="LinkStatus.Dead"/> link is final only when it was redirected (the successor carries the address);
/// a record that was merely deleted can come back (restored from the Recycle Bin), so <see cref="Revive"/> owes it
/// the address's value again (Pending, a new count of attempts, <see cref="RedirectedTo"/> cleared), when a new event
/// arrives for the address or a Salesforce query returns the record.
/// The Tables SDK stores <see cref="Status"/> as its name, so rows written before it was an enum read unchanged.
/// </remarks>
public sealed class RecordLinkEntity : ITableEntity
{
    public const string RowKeyPrefix = "link|";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string SalesforceId { get; set; } = string.Empty;

    /// <summary>Contact or Lead.</summary>
    public string ObjectType { get; set; } = string.Empty;

    /// <summary>The opt-out value Salesforce should hold.</summary>
    public bool DesiredOptOut { get; set; }

    public LinkStatus Status { get; set; } = LinkStatus.Pending;

    /// <summary>The event that last changed what this record should hold.</summary>
    public string? RequestedByEventId { get; set; }

    /// <summary>How we learnt of the record: event, sync, lookup, redirect.</summary>
    public string LinkedFrom { get; set; } = "event";

    public DateTimeOffset LinkedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? SyncedAt { get; set; }

    /// <summary>The event whose value was last confirmed in Salesforce; makes re-delivered messages free.</summary>
    public string? SyncedEventId { get; set; }

    /// <summary>
    /// The API name of the Salesforce field the confirmation (<see cref="SyncedAt"/>) is about: the field written, or
    /// read. A confirmation on one field says nothing about another, so a link confirmed on another field than the one
    /// in force is owed on it. Null on rows confirmed before it existed: the field is unknown.
    /// </summary>
    public string? SyncedField { get; set; }

    /// <summary>Write attempts since the value was last requested.</summary>
    public int Attempts { get; set; }

    public string? LastErrorCode { get; set; }

    public string? LastErrorMessage { get; set; }

    /// <summary>When the write now owed was first asked for; null while nothing is owed. Rows from before it existed use <see cref="LinkedAt"/>.</summary>
    public DateTimeOffset? OwedSince { get; set; }

    /// <summary>The record a converted lead or merged record now lives on; set only on a redirected (Dead) link.</summary>
    public string? RedirectedTo { get; set; }

    /// <summary>
    /// Confirmed with the desired value on <paramref name="field"/> itself. A row confirmed before <see cref="SyncedField"/>
    /// existed is confirmed on no known field, so an un-check read on it is never honoured until a read or write confirms it again.
    /// </summary>
    public bool IsConfirmedOn(string field) => Status == LinkStatus.Synced && SyncedField == field;

    /// <summary>True while a write may still be owed: not confirmed, not gone, not waived.</summary>
    public bool IsOwed => Status is LinkStatus.Pending or LinkStatus.Failed or LinkStatus.Deferred or LinkStatus.Blocked;

    /// <summary>
    /// Dead only because the record was deleted, so it may come back. A converted lead or merged record stays dead:
    /// its successor carries the address. Rows written before <see cref="RedirectedTo"/> existed are told apart by the
    /// converted-lead code; a merge recorded then may be revived once, and dies again (redirected) on its first write.
    /// </summary>
    public bool CanRevive => Status == LinkStatus.Dead && RedirectedTo is null && LastErrorCode != ConvertedLeadCode;

    private const string ConvertedLeadCode = "CANNOT_UPDATE_CONVERTED_LEAD";

    public static string RowKeyFor(string salesforceId) => RowKeyPrefix + salesforceId;

    /// <summary>A new link of an address to a record, owing Salesforce <paramref name="desiredOptOut"/>.</summary>
    public static RecordLinkEntity Create(string emailKey, SalesforceId id, bool desiredOptOut, string linkedFrom, string? eventId, DateTimeOffset now) => new()
    {
        PartitionKey = emailKey,
        RowKey = RowKeyFor(id.Value),
        SalesforceId = id.Value,
        ObjectType = id.SObjectName,
        DesiredOptOut = desiredOptOut,
        Status = LinkStatus.Pending,
        RequestedByEventId = eventId,
        LinkedFrom = linkedFrom,
        LinkedAt = now,
        UpdatedAt = now,
        OwedSince = now,
    };

    /// <summary>The address's consent asks this record for <paramref name="desiredOptOut"/>: a write is owed. A new value starts a new count of attempts.</summary>
    public void Request(bool desiredOptOut, string? eventId, DateTimeOffset now)
    {
        if (desiredOptOut != DesiredOptOut)
        {
            Attempts = 0;
            LastErrorCode = null;
            LastErrorMessage = null;
            OwedSince = now;
        }
        else if (!IsOwed || OwedSince is null)
        {
            OwedSince = now;
        }

        DesiredOptOut = desiredOptOut;
        RequestedByEventId = eventId;
        Status = LinkStatus.Pending;
        UpdatedAt = now;
    }

    /// <summary>Salesforce holds the desired value in <paramref name="field"/>: written now (<paramref name="attempted"/>) or seen there.</summary>
    public void MarkSynced(DateTimeOffset now, bool attempted, string? field)
    {
        Status = LinkStatus.Synced;
        SyncedField = field;
        Attempts += attempted ? 1 : 0;
        SyncedAt = now;
        SyncedEventId = RequestedByEventId;
        LastErrorCode = null;
        LastErrorMessage = null;
        OwedSince = null;
        UpdatedAt = now;
    }

    /// <summary>Salesforce was seen holding the other value although this link had been confirmed: the write is owed again.</summary>
    public void Reopen(string code, string reason, DateTimeOffset now)
    {
        Status = LinkStatus.Pending;
        LastErrorCode = code;
        LastErrorMessage = reason;
        OwedSince = now;
        UpdatedAt = now;
    }

    /// <summary>
    /// An administrator asked for a failed, blocked or deferred write to be tried now (<c>POST /api/links/retry</c>):
    /// it is owed again with a new count of attempts. The last error stays, so the status still says why it stopped.
    /// </summary>
    public void RequestRetry(DateTimeOffset now)
    {
        if (Status is not (LinkStatus.Failed or LinkStatus.Blocked or LinkStatus.Deferred))
        {
            throw new InvalidOperationException($"Only a failed, blocked or deferred link can be retried; this one is {Status}.");
        }

        Status = LinkStatus.Pending;
        Attempts = 0;
        OwedSince ??= now;
        UpdatedAt = now;
    }

    /// <summary>A write failed in a way retrying may fix; the link stays as it was, owed.</summary>
    public void RecordTransientFailure(string code, string? message, DateTimeOffset now)
    {
        Attempts++;
        LastErrorCode = code;
        LastErrorMessage = message;
        UpdatedAt = now;
    }

    /// <summary>Salesforce refused the record's write (validation rule, bad value, retries exhausted); the nightly sync tries again.</summary>
    public void MarkFailed(string code, string? message, bool attempted, DateTimeOffset now) =>
        Settle(LinkStatus.Failed, code, message, attempted, now);

    /// <summary>The org's configuration (field, permission, credentials) stops every write until an admin fixes it.</summary>
    public void MarkBlocked(string code, string? problem, bool attempted, DateTimeOffset now) =>
        Settle(LinkStatus.Blocked, code, problem, attempted, now);

    /// <summary>Put off to protect the org's API allocation; the nightly sync writes it later.</summary>
    public void MarkDeferred(string code, string? message, bool attempted, DateTimeOffset now) =>
        Settle(LinkStatus.Deferred, code, message, attempted, now);

    /// <summary>Salesforce returned the record with <c>IsDeleted = true</c> and no successor: nothing can be written until it is restored.</summary>
    public void MarkDead(string code, string? reason, DateTimeOffset now)
    {
        RedirectedTo = null;
        OwedSince = null;
        Settle(LinkStatus.Dead, code, reason, attempted: false, now);
    }

    /// <summary>The record was converted or merged into <paramref name="targetId"/>, which now carries the address: this link is final.</summary>
    public void MarkRedirected(string code, string targetId, string? reason, DateTimeOffset now)
    {
        RedirectedTo = targetId;
        OwedSince = null;
        Settle(LinkStatus.Dead, code, reason, attempted: false, now);
    }

    /// <summary>
    /// A record that was deleted is there again (a new event for the address, or a query returned it): it owes
    /// <paramref name="desiredOptOut"/> once more, with a new count of attempts.
    /// </summary>
    public void Revive(bool desiredOptOut, string? eventId, string reason, DateTimeOffset now)
    {
        if (!CanRevive)
        {
            throw new InvalidOperationException($"Only a deleted (not redirected) link can be revived; this one is {Status}.");
        }

        DesiredOptOut = desiredOptOut;
        RequestedByEventId = eventId;
        Status = LinkStatus.Pending;
        Attempts = 0;
        LastErrorCode = RevivedCode;
        LastErrorMessage = reason;
        RedirectedTo = null;
        OwedSince = now;
        UpdatedAt = now;
    }

    private const string RevivedCode = "REVIVED";

    /// <summary>Nothing is to be written (a resubscribe while resubscribes are not pushed).</summary>
    public void MarkNotRequired(string reason, DateTimeOffset now)
    {
        OwedSince = null;
        Settle(LinkStatus.NotRequired, null, reason, attempted: false, now);
    }

    private void Settle(LinkStatus status, string? code, string? message, bool attempted, DateTimeOffset now)
    {
        Status = status;
        Attempts += attempted ? 1 : 0;
        LastErrorCode = code;
        LastErrorMessage = message;
        UpdatedAt = now;
    }
}

/// <summary>
/// Append-only evidence: one row per event or push outcome, partitioned by address so one query
/// tells a person's whole history. Rows are only ever added, never updated.
/// </summary>
public sealed class AuditEntity : ITableEntity
{
    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>event (a consent event arrived) or push (a Salesforce write was attempted).</summary>
    public string Kind { get; set; } = "event";

    public string? EventId { get; set; }

    public string? Type { get; set; }

    /// <summary>The event's own source (link, manual, bounce, salesforce, other).</summary>
    public string? Source { get; set; }

    /// <summary>How it reached us: webhook, nightly-sync, push.</summary>
    public string Channel { get; set; } = "webhook";

    public DateTimeOffset? OccurredAt { get; set; }

    public DateTimeOffset RecordedAt { get; set; }

    public DateTimeOffset? ReceivedAt { get; set; }

    public string? Reason { get; set; }

    public string? SalesforceId { get; set; }

    /// <summary>The Salesforce records written or to be written, comma-separated.</summary>
    public string? Records { get; set; }

    /// <summary>What came of it: applied, reaffirmed, superseded, synced, failed, ...</summary>
    public string Outcome { get; set; } = string.Empty;

    public string? Detail { get; set; }

    /// <summary>
    /// The evidence of one Salesforce write attempt for a linked record, from the push worker or the nightly
    /// sync. <see cref="Records"/> names the record only when the write landed.
    /// </summary>
    public static AuditEntity ForWrite(RecordLinkEntity link, string? eventId, string channel, string outcome, string? detail, DateTimeOffset now) => new()
    {
        PartitionKey = link.PartitionKey,
        RowKey = AuditLog.PushRowKey(now, link.SalesforceId, eventId ?? channel, outcome),
        Kind = "push",
        EventId = eventId,
        Channel = channel,
        RecordedAt = now,
        SalesforceId = link.SalesforceId,
        Records = outcome == "synced" ? link.SalesforceId : null,
        Outcome = outcome,
        Detail = detail,
    };
}
