using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>
/// Row keys of the change feed's one partition (<see cref="PartitionKey"/>). Everything that must move together lives in
/// it, so one entity-group transaction appends entries, advances the head and marks the address in a single step.
/// </summary>
public static class FeedKeys
{
    public const string PartitionKey = "feed";

    public const string Head = "head";

    public const string AddressPrefix = "addr|";

    public const string EntryPrefix = "seq|";

    public const string NotificationPrefix = "notify|";

    /// <summary>Failed notifications: their own partition, listed by an admin, never read on a hot path.</summary>
    public const string FailedNotificationsPartition = "notify-failed";

    /// <summary>The sweep's progress through the ledger.</summary>
    public const string SweepPartition = "sweep";

    public static string Entry(long sequence) => EntryPrefix + Pad(sequence);

    public static string Notification(long sequence) => NotificationPrefix + Pad(sequence);

    public static string Address(string emailKey) => AddressPrefix + emailKey;

    /// <summary>Fixed width, so the table's string order is the numeric order.</summary>
    public static string Pad(long sequence) => sequence.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>.</summary>
    public static string After(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}

/// <summary>The feed's head: the last sequence number handed out. Every append replaces it with its ETag, so appends are serial.</summary>
public sealed class FeedHeadEntity : ITableEntity
{
    public string PartitionKey { get; set; } = FeedKeys.PartitionKey;
    public string RowKey { get; set; } = FeedKeys.Head;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>Names this feed; a cursor from another feed (a recreated table) is refused instead of silently skipping.</summary>
    public string FeedId { get; set; } = string.Empty;

    public long LastSequence { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Which of an address's changes are in the feed: its versions up to <see cref="LastVersion"/>.</summary>
public sealed class FeedAddressEntity : ITableEntity
{
    public string PartitionKey { get; set; } = FeedKeys.PartitionKey;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public long LastVersion { get; set; }

    public long LastSequence { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One entry of the change feed (row key <c>seq|{sequence}</c>): a change of one address's consent, numbered without gaps.</summary>
public sealed class FeedEntryEntity : ITableEntity
{
    public string PartitionKey { get; set; } = FeedKeys.PartitionKey;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public long Sequence { get; set; }

    /// <summary>The address's ledger key (SHA-256 of the normalized address).</summary>
    public string EmailKey { get; set; } = string.Empty;

    public string Email { get; set; } = string.Empty;

    /// <summary>The address's change number; increases by one with each of its changes.</summary>
    public long Version { get; set; }

    public string State { get; set; } = nameof(ConsentState.Subscribed);

    public DateTimeOffset StateSince { get; set; }

    public string? EventId { get; set; }

    public string Type { get; set; } = "unsubscribe";

    public string? Source { get; set; }

    public string Channel { get; set; } = ConsentChangeEntity.WebhookChannel;

    public DateTimeOffset? OccurredAt { get; set; }

    public string? SalesforceId { get; set; }

    /// <summary>When the ledger recorded the change.</summary>
    public DateTimeOffset ChangedAt { get; set; }

    /// <summary>When it entered the feed.</summary>
    public DateTimeOffset PublishedAt { get; set; }

    public ConsentState ConsentState => Enum.Parse<ConsentState>(State);

    public static FeedEntryEntity From(ConsentChangeEntity change, long sequence, DateTimeOffset now) => new()
    {
        RowKey = FeedKeys.Entry(sequence),
        Sequence = sequence,
        EmailKey = change.PartitionKey,
        Email = change.Email,
        Version = change.Version,
        State = change.State,
        StateSince = change.StateSince,
        EventId = change.EventId,
        Type = change.Type,
        Source = change.Source,
        Channel = change.Channel,
        OccurredAt = change.OccurredAt,
        SalesforceId = change.SalesforceId,
        ChangedAt = change.ChangedAt,
        PublishedAt = now,
    };
}

/// <summary>
/// A notification owed for a feed entry (row key <c>notify|{sequence}</c>): written with the entry itself, deleted once
/// its message is on the notify queue, so a crash in between leaves it for the sweep instead of losing it.
/// </summary>
public sealed class FeedNotificationEntity : ITableEntity
{
    public string PartitionKey { get; set; } = FeedKeys.PartitionKey;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public long Sequence { get; set; }

    public string EmailKey { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A notification whose delivery failed (partition <see cref="FeedKeys.FailedNotificationsPartition"/>, row = sequence):
/// the last error of each failed attempt, and <see cref="GaveUp"/> once its queue attempts were exhausted. A later
/// successful attempt removes the row.
/// </summary>
public sealed class NotificationFailureEntity : ITableEntity
{
    public string PartitionKey { get; set; } = FeedKeys.FailedNotificationsPartition;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public long Sequence { get; set; }

    public string EmailKey { get; set; } = string.Empty;

    public int Attempts { get; set; }

    /// <summary>What the last attempt got: an HTTP status or the kind of network failure (never the receiver's body).</summary>
    public string? LastError { get; set; }

    public DateTimeOffset LastAttemptAt { get; set; }

    /// <summary>True once the message reached the poison queue: no further attempt will be made.</summary>
    public bool GaveUp { get; set; }

    public DateTimeOffset? GaveUpAt { get; set; }
}

/// <summary>Where the sweep stands in its pass over the ledger, and whether the backfill of pre-feed addresses is done.</summary>
public sealed class FeedSweepEntity : ITableEntity
{
    public const string RowKeyValue = "state";

    public string PartitionKey { get; set; } = FeedKeys.SweepPartition;
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>The ledger scan's continuation; null between passes.</summary>
    public string? Continuation { get; set; }

    /// <summary>True once one whole pass has numbered every address written before the feed existed.</summary>
    public bool BackfillComplete { get; set; }

    public DateTimeOffset? PassStartedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
