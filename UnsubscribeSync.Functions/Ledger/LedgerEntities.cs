using Azure;
using Azure.Data.Tables;

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

    public ConsentState ConsentState => Enum.Parse<ConsentState>(State);
}

/// <summary>One Salesforce record linked to an address, with its push status. Row key <c>link|{18-char Id}</c>.</summary>
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

    public string Status { get; set; } = nameof(LinkStatus.Pending);

    /// <summary>The event that last changed what this record should hold.</summary>
    public string? RequestedByEventId { get; set; }

    /// <summary>How we learnt of the record: event, sync, lookup, redirect.</summary>
    public string LinkedFrom { get; set; } = "event";

    public DateTimeOffset LinkedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? SyncedAt { get; set; }

    /// <summary>The event whose value was last confirmed in Salesforce; makes re-delivered messages free.</summary>
    public string? SyncedEventId { get; set; }

    public int Attempts { get; set; }

    public string? LastErrorCode { get; set; }

    public string? LastErrorMessage { get; set; }

    public LinkStatus LinkStatus => Enum.Parse<LinkStatus>(Status);

    public static string RowKeyFor(string salesforceId) => RowKeyPrefix + salesforceId;

    /// <summary>A new link of an address to a record; a <see cref="LinkStatus.Synced"/> one is confirmed as of <paramref name="now"/>.</summary>
    public static RecordLinkEntity Create(
        string emailKey, Salesforce.SalesforceId id, bool desiredOptOut, LinkStatus status, string linkedFrom, string? eventId, DateTimeOffset now) => new()
    {
        PartitionKey = emailKey,
        RowKey = RowKeyFor(id.Value),
        SalesforceId = id.Value,
        ObjectType = id.SObjectName,
        DesiredOptOut = desiredOptOut,
        Status = status.ToString(),
        RequestedByEventId = eventId,
        LinkedFrom = linkedFrom,
        LinkedAt = now,
        UpdatedAt = now,
        SyncedAt = status == LinkStatus.Synced ? now : null,
        SyncedEventId = status == LinkStatus.Synced ? eventId : null,
    };
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
    public static AuditEntity ForWrite(
        RecordLinkEntity link, string? eventId, string channel, string outcome, string? detail, DateTimeOffset now, DateTimeOffset? occurredAt = null) => new()
    {
        PartitionKey = link.PartitionKey,
        RowKey = AuditLog.PushRowKey(now, link.SalesforceId, eventId ?? channel),
        Kind = "push",
        EventId = eventId,
        Channel = channel,
        RecordedAt = now,
        OccurredAt = occurredAt,
        SalesforceId = link.SalesforceId,
        Records = outcome == "synced" ? link.SalesforceId : null,
        Outcome = outcome,
        Detail = detail,
    };
}
