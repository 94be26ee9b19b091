using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Status;

/// <summary>What one census tick did.</summary>
public enum CensusTickOutcome
{
    /// <summary>Read its share of pages and saved its place; a later tick carries on.</summary>
    Continued,

    /// <summary>Finished a count and wrote the snapshot the status reads.</summary>
    Completed,

    /// <summary>Another tick moved the count on first; this one's pages were dropped (the other counted them).</summary>
    StoodDown,
}

/// <summary>
/// Counts the ledger so that a status request never has to: each tick reads at most <c>Admin:CensusPagesPerTick</c>
/// pages (of the state and link rows, a few columns each), adds them to the count saved on the progress row and saves its
/// place; the tick that reaches the end writes the snapshot. A status request then reads one row, whatever the ledger's
/// size. Figures are as old as the last complete count (at a million rows and the defaults, about ten ticks).
/// </summary>
public sealed partial class LedgerCensus(
    StorageClients clients,
    IOptions<StorageOptions> storage,
    IOptions<AdminOptions> options,
    TimeProvider timeProvider,
    ILogger<LedgerCensus> logger)
{
    // RowKey must be asked for: a query with $select returns only the columns named.
    private static readonly string[] Columns =
    [
        nameof(ITableEntity.RowKey),
        nameof(ConsentStateEntity.State), nameof(ConsentStateEntity.AwaitingSalesforceId), nameof(RecordLinkEntity.Status),
        nameof(RecordLinkEntity.LastErrorCode), nameof(RecordLinkEntity.LastErrorMessage), nameof(RecordLinkEntity.OwedSince),
        nameof(RecordLinkEntity.LinkedAt), nameof(RecordLinkEntity.SyncedAt), nameof(RecordLinkEntity.UpdatedAt),
    ];

    private static readonly string LinkRangeEnd = RecordLinkEntity.RowKeyPrefix[..^1] + (char)(RecordLinkEntity.RowKeyPrefix[^1] + 1);

    private TableClient State => clients.Tables.GetTableClient(storage.Value.SyncStateTable);

    private TableClient Ledger => clients.Tables.GetTableClient(storage.Value.LedgerTable);

    /// <summary>The last complete count, or null before the first one finished.</summary>
    public async Task<CensusEntity?> GetSnapshotAsync(CancellationToken cancellationToken)
    {
        var response = await State.GetEntityIfExistsAsync<CensusEntity>(CensusEntity.PartitionValue, CensusEntity.SnapshotRow, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Reads the next bounded share of the ledger into the count.</summary>
    public async Task<CensusTickOutcome> TickAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = timeProvider.GetUtcNow();
        var existing = await State.GetEntityIfExistsAsync<CensusEntity>(CensusEntity.PartitionValue, CensusEntity.ProgressRow, cancellationToken: cancellationToken);
        var progress = existing.HasValue ? existing.Value! : new CensusEntity { StartedAt = now };
        var counts = LedgerCounts.FromJson(progress.CountsJson);

        var filter = TableClient.CreateQueryFilter(
            $"RowKey eq {ConsentStateEntity.RowKeyValue} or (RowKey ge {RecordLinkEntity.RowKeyPrefix} and RowKey lt {LinkRangeEnd})");
        var continuation = progress.Continuation;
        var pages = 0;
        var finished = true;
        await foreach (var page in Ledger.QueryAsync<TableEntity>(filter, maxPerPage: settings.CensusPageSize, select: Columns, cancellationToken: cancellationToken)
                           .AsPages(continuation, settings.CensusPageSize))
        {
            foreach (var row in page.Values)
            {
                if (row.RowKey == ConsentStateEntity.RowKeyValue)
                {
                    counts.CountAddress(TableRows.Read<ConsentStateEntity>(row));
                }
                else
                {
                    counts.CountLink(TableRows.Read<RecordLinkEntity>(row), progress.StartedAt);
                }
            }

            progress.RowsRead += page.Values.Count;
            continuation = page.ContinuationToken;
            if (++pages >= settings.CensusPagesPerTick && continuation is not null)
            {
                finished = false;
                break;
            }
        }

        progress.Ticks++;
        progress.CountsJson = counts.ToJson();
        if (!finished)
        {
            progress.Continuation = continuation;
            if (!await SaveProgressAsync(progress, existing.HasValue, cancellationToken))
            {
                Log.StoodDown(logger);
                return CensusTickOutcome.StoodDown;
            }

            Log.Continued(logger, progress.RowsRead, progress.Ticks);
            return CensusTickOutcome.Continued;
        }

        // The progress row goes first (guarded by its ETag), so of two racing ticks only one writes the snapshot.
        if (existing.HasValue)
        {
            try
            {
                await State.DeleteEntityAsync(CensusEntity.PartitionValue, CensusEntity.ProgressRow, progress.ETag, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                Log.StoodDown(logger);
                return CensusTickOutcome.StoodDown;
            }
        }

        var snapshot = new CensusEntity
        {
            RowKey = CensusEntity.SnapshotRow,
            StartedAt = progress.StartedAt,
            CompletedAt = timeProvider.GetUtcNow(),
            RowsRead = progress.RowsRead,
            Ticks = progress.Ticks,
            CountsJson = progress.CountsJson,
        };
        await State.UpsertEntityAsync(snapshot, TableUpdateMode.Replace, cancellationToken);
        Log.Completed(logger, progress.RowsRead, progress.Ticks, counts.Owed);
        return CensusTickOutcome.Completed;
    }

    private async Task<bool> SaveProgressAsync(CensusEntity progress, bool exists, CancellationToken cancellationToken)
    {
        if (exists)
        {
            return await State.TryUpdateAsync(progress, TableUpdateMode.Replace, cancellationToken);
        }

        try
        {
            await State.AddEntityAsync(progress, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Ledger census: {Rows} rows counted so far over {Ticks} ticks; the next tick carries on")]
        public static partial void Continued(ILogger logger, long rows, int ticks);

        [LoggerMessage(EventId = 711, Level = LogLevel.Information, Message = "Ledger census complete: {Rows} rows over {Ticks} ticks, {Owed} writes owed")]
        public static partial void Completed(ILogger logger, long rows, int ticks, long owed);

        [LoggerMessage(EventId = 712, Level = LogLevel.Information, Message = "Ledger census: another tick moved the count on first; this one stands down")]
        public static partial void StoodDown(ILogger logger);
    }
}
