using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>How far the intake of one event got; a retry resumes from here.</summary>
public enum IntakeStage
{
    Received,
    Queued,
}

/// <summary>
/// The idempotency record of one event id. <see cref="Stage"/> lets a retry finish what a failed
/// attempt began instead of calling it a duplicate; <see cref="EventJson"/> lets the nightly sync
/// finish it if the caller never retries.
/// </summary>
public sealed class IntakeRecordEntity : ITableEntity
{
    public const string RowKeyValue = "event";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string EventId { get; set; } = string.Empty;

    public string EmailKey { get; set; } = string.Empty;

    public string Stage { get; set; } = nameof(IntakeStage.Received);

    public DateTimeOffset ReceivedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The normalized event, to re-drive an intake that stopped half-way.</summary>
    public string EventJson { get; set; } = string.Empty;

    /// <summary>
    /// The attempt finishing the event (a delivery, a retry or the nightly sweep). While its claim is younger than
    /// <see cref="IntakeRecords.InProgressWindow"/> no other attempt finishes the event, so it is pushed once.
    /// </summary>
    public string? ClaimedBy { get; set; }

    public DateTimeOffset? ClaimedAt { get; set; }

    public IntakeStage IntakeStage => Enum.Parse<IntakeStage>(Stage);

    /// <summary>Whether an attempt holds a claim that has not lapsed at <paramref name="now"/>.</summary>
    public bool IsClaimedAt(DateTimeOffset now) => ClaimedBy is not null && ClaimedAt + IntakeRecords.InProgressWindow > now;
}

/// <summary>Idempotency records keyed by event id.</summary>
public interface IIntakeRecords
{
    /// <summary>Creates the record (claimed by the attempt that fills in its claim), or returns the one an earlier attempt created.</summary>
    Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken);

    /// <summary>
    /// Claims an unfinished record for <paramref name="claimant"/> if the row is still as read. False when it is
    /// queued, another attempt holds a live claim, or another attempt changed it first: that attempt finishes it.
    /// </summary>
    Task<bool> TryClaimAsync(IntakeRecordEntity record, string claimant, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Gives the claim back after a failed attempt, so a retry can finish the event at once. Best effort: an unreleased claim lapses.</summary>
    Task ReleaseAsync(IntakeRecordEntity record, CancellationToken cancellationToken);

    /// <summary>Marks the claimed record queued. False when another attempt took the record over (this claim had lapsed) and marks it itself.</summary>
    Task<bool> MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken);

    /// <summary>Records that stopped before being queued and are older than <paramref name="olderThan"/>.</summary>
    IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);

    /// <summary>
    /// One page of <see cref="FindUnfinishedAsync"/>: the unfinished records among the next (at most
    /// <paramref name="pageSize"/>) rows the service scans after <paramref name="continuation"/>, and the token to go
    /// on from (null at the end). A page can be empty and still have a continuation: the filter is not indexed.
    /// </summary>
    Task<IntakeSweepPage> FindUnfinishedPageAsync(DateTimeOffset olderThan, string? continuation, int pageSize, CancellationToken cancellationToken);
}

/// <summary>One page of half-finished intakes, and where the scan goes on.</summary>
public sealed record IntakeSweepPage(IReadOnlyList<IntakeRecordEntity> Records, string? Continuation);

/// <inheritdoc />
public sealed class IntakeRecords(StorageClients clients, IOptions<StorageOptions> options) : IIntakeRecords
{
    /// <summary>
    /// How long a claim keeps other attempts off an event. Longer than one event's intake takes (a handful of storage
    /// requests, each giving up within seconds), so a live claim means an attempt is still at work; far shorter than
    /// the nightly sweep's 15 minutes. A claim outlives it only when its attempt crashed without giving it back.
    /// </summary>
    public static readonly TimeSpan InProgressWindow = TimeSpan.FromMinutes(2);

    private TableClient Table => clients.Tables.GetTableClient(options.Value.IntakeTable);

    /// <summary>The table key of an event id: ids may hold characters table keys cannot.</summary>
    public static string KeyOf(string eventId) => StableKey.Of(eventId);

    public async Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken)
    {
        // Insert first: a new event (the common case) costs one request; only a repeat pays for the read.
        try
        {
            var response = await Table.AddEntityAsync(record, cancellationToken);
            record.ETag = response.Headers.ETag ?? record.ETag;
            return record;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            var existing = await Table.GetEntityAsync<IntakeRecordEntity>(record.PartitionKey, record.RowKey, cancellationToken: cancellationToken);
            return existing.Value;
        }
    }

    public async Task<bool> TryClaimAsync(IntakeRecordEntity record, string claimant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (record.IntakeStage == IntakeStage.Queued || record.IsClaimedAt(now))
        {
            return false;
        }

        record.ClaimedBy = claimant;
        record.ClaimedAt = now;
        return await Table.TryUpdateAsync(record, TableUpdateMode.Replace, cancellationToken);
    }

    public async Task ReleaseAsync(IntakeRecordEntity record, CancellationToken cancellationToken)
    {
        // Only an attempt that did not mark the record queued gives its claim back, so the stored stage is Received.
        record.Stage = nameof(IntakeStage.Received);
        record.CompletedAt = null;
        record.ClaimedBy = null;
        record.ClaimedAt = null;
        try
        {
            var response = await Table.UpdateEntityAsync(record, record.ETag, TableUpdateMode.Replace, cancellationToken);
            record.ETag = response.Headers.ETag ?? record.ETag;
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            // 412: another attempt took the lapsed claim over. Anything else: storage is down and the claim lapses.
        }
    }

    public async Task<bool> MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken)
    {
        record.Stage = nameof(IntakeStage.Queued);
        record.CompletedAt = completedAt;

        // Guarded by the claim's ETag: an attempt whose claim lapsed and was taken over does not overwrite the new claimant's row.
        return await Table.TryUpdateAsync(record, TableUpdateMode.Merge, cancellationToken);
    }

    public async IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in Table.QueryAsync<IntakeRecordEntity>(UnfinishedFilter(olderThan), cancellationToken: cancellationToken))
        {
            yield return record;
        }
    }

    public async Task<IntakeSweepPage> FindUnfinishedPageAsync(DateTimeOffset olderThan, string? continuation, int pageSize, CancellationToken cancellationToken)
    {
        await foreach (var page in Table.QueryAsync<IntakeRecordEntity>(UnfinishedFilter(olderThan), maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuation, pageSize))
        {
            return new IntakeSweepPage(page.Values, page.ContinuationToken);
        }

        return new IntakeSweepPage([], null);
    }

    // Stage and ReceivedAt are not keys, so the service scans the whole table (partitions are event-id hashes): the
    // cost grows with the table, which is why the sweep pages through it in queued batches rather than in the tick.
    private static string UnfinishedFilter(DateTimeOffset olderThan)
    {
        var queued = nameof(IntakeStage.Queued);
        return TableClient.CreateQueryFilter($"Stage ne {queued} and ReceivedAt lt {olderThan}");
    }
}
