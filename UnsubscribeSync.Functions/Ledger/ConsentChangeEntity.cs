using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>
/// One change of an address's consent state, waiting to enter the change feed (row key <c>change|{version}</c> in the
/// address's ledger partition). It is written in the same transaction as the state change itself, so a change that
/// happened cannot lack its row; <see cref="IConsentFeed.PublishAsync"/> copies it into the feed and then deletes it.
/// </summary>
public sealed class ConsentChangeEntity : ITableEntity
{
    public const string RowKeyPrefix = "change|";

    /// <summary>The change was an event the webhook received.</summary>
    public const string WebhookChannel = "webhook";

    /// <summary>The change was read from a Salesforce record by the nightly sync.</summary>
    public const string NightlySyncChannel = "nightly-sync";

    /// <summary>The address's state from before the feed existed, numbered by the feed's backfill.</summary>
    public const string BackfillChannel = "backfill";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>The address's <see cref="ConsentStateEntity.Version"/> after this change.</summary>
    public long Version { get; set; }

    public string Email { get; set; } = string.Empty;

    /// <summary>The state the change led to: Subscribed or Unsubscribed.</summary>
    public string State { get; set; } = nameof(ConsentState.Subscribed);

    /// <summary>When that state began (the event's ordering time).</summary>
    public DateTimeOffset StateSince { get; set; }

    public string? EventId { get; set; }

    /// <summary>unsubscribe or resubscribe.</summary>
    public string Type { get; set; } = "unsubscribe";

    /// <summary>The event's own source (link, manual, bounce, salesforce, other).</summary>
    public string? Source { get; set; }

    /// <summary>How the change reached us: <see cref="WebhookChannel"/>, <see cref="NightlySyncChannel"/> or <see cref="BackfillChannel"/>.</summary>
    public string Channel { get; set; } = WebhookChannel;

    /// <summary>When the event happened at its source, as sent.</summary>
    public DateTimeOffset? OccurredAt { get; set; }

    /// <summary>The Salesforce record the event named, if any.</summary>
    public string? SalesforceId { get; set; }

    /// <summary>When the ledger recorded the change.</summary>
    public DateTimeOffset ChangedAt { get; set; }

    public static string RowKeyFor(long version) => RowKeyPrefix + version.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The change an event made to <paramref name="state"/> (already updated, its version already counted).</summary>
    public static ConsentChangeEntity For(ConsentStateEntity state, ConsentEvent e, DateTimeOffset now) => new()
    {
        PartitionKey = state.PartitionKey,
        RowKey = RowKeyFor(state.Version),
        Version = state.Version,
        Email = state.Email,
        State = state.State,
        StateSince = state.StateSince,
        EventId = e.Id,
        Type = e.TypeName,
        Source = e.Source,
        // Only the nightly sync's inbound pass reads changes from a record; everything else came through the webhook.
        Channel = e.ReadFromRecord ? NightlySyncChannel : WebhookChannel,
        OccurredAt = e.OccurredAt,
        SalesforceId = e.SalesforceId?.Value,
        ChangedAt = now,
    };

    /// <summary>The state an address had before the feed existed, as its first change.</summary>
    public static ConsentChangeEntity Snapshot(ConsentStateEntity state, DateTimeOffset now) => new()
    {
        PartitionKey = state.PartitionKey,
        RowKey = RowKeyFor(state.Version),
        Version = state.Version,
        Email = state.Email,
        State = state.State,
        StateSince = state.StateSince,
        EventId = state.StateEventId,
        Type = state.ConsentState == ConsentState.Unsubscribed ? "unsubscribe" : "resubscribe",
        Source = state.StateSource,
        Channel = BackfillChannel,
        OccurredAt = state.DecidedAt,
        ChangedAt = now,
    };
}
