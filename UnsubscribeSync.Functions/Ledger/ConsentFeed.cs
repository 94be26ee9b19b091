using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>The feed's head as last read: its id and the last sequence number handed out (0 and "" while it is empty).</summary>
public sealed record FeedHead(string FeedId, long LastSequence);

/// <summary>What one publication appended, and the notifications it left owed.</summary>
public sealed record FeedPublication(IReadOnlyList<FeedEntryEntity> Appended, IReadOnlyList<FeedNotificationEntity> Notifications)
{
    public static readonly FeedPublication Empty = new([], []);
}

/// <summary>
/// The change feed: every change of every address's consent, numbered 1, 2, 3, ... without gaps, in one table partition.
/// <para>
/// An append is one entity-group transaction that replaces the head (guarded by its ETag), adds the entries, and moves
/// the address's marker on. So entry N+1 can only commit after entry N did, and the head never names an entry that is
/// not there: a reader that stops at the head it read first sees a prefix of the feed, never one with a hole that a
/// slower writer fills in later. The marker (guarded by its ETag too) holds the address's last version in the feed, so
/// a change is appended once however many workers try, and an address's changes enter in the order they happened.
/// </para>
/// </summary>
public interface IConsentFeed
{
    /// <summary>
    /// Moves the address's waiting changes into the feed (each once, in version order) and removes them from the ledger.
    /// A notification is owed, in the same transaction, for each change <paramref name="notify"/> picks.
    /// </summary>
    Task<FeedPublication> PublishAsync(string emailKey, Func<ConsentChangeEntity, bool> notify, CancellationToken cancellationToken);

    Task<FeedHead> GetHeadAsync(CancellationToken cancellationToken);

    /// <summary>Entries after <paramref name="after"/> up to and including <paramref name="upTo"/>, at most <paramref name="limit"/>, in order.</summary>
    Task<IReadOnlyList<FeedEntryEntity>> ReadAsync(long after, long upTo, int limit, CancellationToken cancellationToken);

    Task<FeedEntryEntity?> GetEntryAsync(long sequence, CancellationToken cancellationToken);

    /// <summary>Notifications owed but not yet on the notify queue.</summary>
    IAsyncEnumerable<FeedNotificationEntity> OwedNotificationsAsync(CancellationToken cancellationToken);

    /// <summary>The notification is on the notify queue: it is no longer owed here.</summary>
    Task CompleteNotificationAsync(FeedNotificationEntity notification, CancellationToken cancellationToken);

    Task<NotificationFailureEntity?> GetNotificationFailureAsync(long sequence, CancellationToken cancellationToken);

    /// <summary>Writes (or replaces) the failure record of a notification.</summary>
    Task SaveNotificationFailureAsync(NotificationFailureEntity failure, CancellationToken cancellationToken);

    /// <summary>Removes a notification's failure record (it was delivered after all); a missing record is not an error.</summary>
    Task DeleteNotificationFailureAsync(long sequence, CancellationToken cancellationToken);

    IAsyncEnumerable<NotificationFailureEntity> NotificationFailuresAsync(CancellationToken cancellationToken);

    Task<FeedSweepEntity> GetSweepAsync(CancellationToken cancellationToken);

    /// <summary>Saves the sweep's progress; false when another sweep saved first (ETag).</summary>
    Task<bool> TrySaveSweepAsync(FeedSweepEntity sweep, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class ConsentFeed(StorageClients clients, IOptions<StorageOptions> options, IConsentChangeLog changes, TimeProvider timeProvider) : IConsentFeed
{
    // head + marker + entries + their notifications must fit the 100 operations of one transaction.
    private const int MaxChangesPerAppend = 48;

    // Every append replaces the one head row, so concurrent publishers queue up on it: many attempts, short jittered waits.
    private const int MaxAppendAttempts = 30;
    private static readonly TimeSpan AppendBackoff = TimeSpan.FromMilliseconds(15);

    private TableClient Table => clients.Tables.GetTableClient(options.Value.ConsentFeedTable);

    public async Task<FeedPublication> PublishAsync(string emailKey, Func<ConsentChangeEntity, bool> notify, CancellationToken cancellationToken)
    {
        var waiting = await changes.GetChangesAsync(emailKey, cancellationToken);
        if (waiting.Count == 0)
        {
            return FeedPublication.Empty;
        }

        var appended = new List<FeedEntryEntity>();
        var notifications = new List<FeedNotificationEntity>();
        bool more;
        do
        {
            var step = await OptimisticConcurrency.RetryAsync(_ => TryAppendAsync(emailKey, waiting, notify, cancellationToken), MaxAppendAttempts, cancellationToken, AppendBackoff);
            appended.AddRange(step.Publication.Appended);
            notifications.AddRange(step.Publication.Notifications);
            more = step.More;
        }
        while (more);

        // Everything read is in the feed now (appended here or by a worker that got there first).
        await changes.DeleteChangesAsync(waiting, cancellationToken);
        return new FeedPublication(appended, notifications);
    }

    private async Task<(FeedPublication Publication, bool More)> TryAppendAsync(
        string emailKey, IReadOnlyList<ConsentChangeEntity> waiting, Func<ConsentChangeEntity, bool> notify, CancellationToken cancellationToken)
    {
        var headTask = Table.GetEntityIfExistsAsync<FeedHeadEntity>(FeedKeys.PartitionKey, FeedKeys.Head, cancellationToken: cancellationToken);
        var markerTask = Table.GetEntityIfExistsAsync<FeedAddressEntity>(FeedKeys.PartitionKey, FeedKeys.Address(emailKey), cancellationToken: cancellationToken);
        var headResponse = await headTask;
        var markerResponse = await markerTask;
        var head = headResponse.HasValue ? headResponse.Value! : null;
        var marker = markerResponse.HasValue ? markerResponse.Value! : null;

        var lastVersion = marker?.LastVersion ?? 0;
        var pending = waiting.Where(c => c.Version > lastVersion).OrderBy(c => c.Version).ToList();
        if (pending.Count == 0)
        {
            return (FeedPublication.Empty, false);
        }

        var now = timeProvider.GetUtcNow();
        var batch = pending.Take(MaxChangesPerAppend).ToList();
        var sequence = head?.LastSequence ?? 0;
        var entries = new List<FeedEntryEntity>();
        var notifications = new List<FeedNotificationEntity>();
        foreach (var change in batch)
        {
            var entry = FeedEntryEntity.From(change, ++sequence, now);
            entries.Add(entry);
            if (notify(change))
            {
                notifications.Add(new FeedNotificationEntity { RowKey = FeedKeys.Notification(entry.Sequence), Sequence = entry.Sequence, EmailKey = emailKey, CreatedAt = now });
            }
        }

        var newHead = new FeedHeadEntity { FeedId = head?.FeedId ?? Guid.NewGuid().ToString("N"), LastSequence = sequence, UpdatedAt = now };
        var newMarker = new FeedAddressEntity { RowKey = FeedKeys.Address(emailKey), LastVersion = batch[^1].Version, LastSequence = sequence, UpdatedAt = now };
        var actions = new List<TableTransactionAction>
        {
            // Add when missing: two first appends race on the Add, and the loser reads the winner's head.
            head is null
                ? new TableTransactionAction(TableTransactionActionType.Add, newHead)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, newHead, head.ETag),
            marker is null
                ? new TableTransactionAction(TableTransactionActionType.Add, newMarker)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, newMarker, marker.ETag),
        };
        actions.AddRange(entries.Select(e => new TableTransactionAction(TableTransactionActionType.Add, e)));
        actions.AddRange(notifications.Select(n => new TableTransactionAction(TableTransactionActionType.Add, n)));

        // A 412 or 409 means someone appended first; the retry reads the head and the marker again. If this very
        // transaction committed but its answer was lost, the retry finds the marker moved on and appends nothing; the
        // notifications it owed are rows in the feed, which the sweep hands on.
        await Table.SubmitTransactionAsync(actions, cancellationToken);

        return (new FeedPublication(entries, notifications), pending.Count > batch.Count);
    }

    public async Task<FeedHead> GetHeadAsync(CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<FeedHeadEntity>(FeedKeys.PartitionKey, FeedKeys.Head, cancellationToken: cancellationToken);
        return response.HasValue ? new FeedHead(response.Value!.FeedId, response.Value.LastSequence) : new FeedHead(string.Empty, 0);
    }

    public async Task<IReadOnlyList<FeedEntryEntity>> ReadAsync(long after, long upTo, int limit, CancellationToken cancellationToken)
    {
        if (upTo <= after || limit <= 0)
        {
            return [];
        }

        var partition = FeedKeys.PartitionKey;
        var from = FeedKeys.Entry(after);
        var to = FeedKeys.Entry(upTo);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {from} and RowKey le {to}");
        var entries = new List<FeedEntryEntity>(Math.Min(limit, 1000));
        await foreach (var entry in Table.QueryAsync<FeedEntryEntity>(filter, maxPerPage: Math.Min(limit, 1000), cancellationToken: cancellationToken))
        {
            entries.Add(entry);
            if (entries.Count >= limit)
            {
                break;
            }
        }

        return entries;
    }

    public async Task<FeedEntryEntity?> GetEntryAsync(long sequence, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<FeedEntryEntity>(FeedKeys.PartitionKey, FeedKeys.Entry(sequence), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async IAsyncEnumerable<FeedNotificationEntity> OwedNotificationsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partition = FeedKeys.PartitionKey;
        var from = FeedKeys.NotificationPrefix;
        var to = FeedKeys.After(FeedKeys.NotificationPrefix);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {from} and RowKey lt {to}");
        await foreach (var notification in Table.QueryAsync<FeedNotificationEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return notification;
        }
    }

    public Task CompleteNotificationAsync(FeedNotificationEntity notification, CancellationToken cancellationToken) =>
        // A missing row (another worker completed it) is not an error for a single delete.
        Table.DeleteEntityAsync(notification.PartitionKey, notification.RowKey, ETag.All, cancellationToken);

    public async Task<NotificationFailureEntity?> GetNotificationFailureAsync(long sequence, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<NotificationFailureEntity>(FeedKeys.FailedNotificationsPartition, FeedKeys.Pad(sequence), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task SaveNotificationFailureAsync(NotificationFailureEntity failure, CancellationToken cancellationToken)
    {
        failure.PartitionKey = FeedKeys.FailedNotificationsPartition;
        failure.RowKey = FeedKeys.Pad(failure.Sequence);
        await Table.UpsertEntityAsync(failure, TableUpdateMode.Replace, cancellationToken);
    }

    public Task DeleteNotificationFailureAsync(long sequence, CancellationToken cancellationToken) =>
        Table.DeleteEntityAsync(FeedKeys.FailedNotificationsPartition, FeedKeys.Pad(sequence), ETag.All, cancellationToken);

    public async IAsyncEnumerable<NotificationFailureEntity> NotificationFailuresAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partition = FeedKeys.FailedNotificationsPartition;
        await foreach (var failure in Table.QueryAsync<NotificationFailureEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken))
        {
            yield return failure;
        }
    }

    public async Task<FeedSweepEntity> GetSweepAsync(CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<FeedSweepEntity>(FeedKeys.SweepPartition, FeedSweepEntity.RowKeyValue, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value! : new FeedSweepEntity();
    }

    public async Task<bool> TrySaveSweepAsync(FeedSweepEntity sweep, CancellationToken cancellationToken)
    {
        try
        {
            var response = sweep.ETag == default
                ? await Table.AddEntityAsync(sweep, cancellationToken)
                : await Table.UpdateEntityAsync(sweep, sweep.ETag, TableUpdateMode.Replace, cancellationToken);
            sweep.ETag = response.Headers.ETag ?? sweep.ETag;
            return true;
        }
        catch (RequestFailedException ex) when (OptimisticConcurrency.IsConflict(ex))
        {
            return false;
        }
    }
}
