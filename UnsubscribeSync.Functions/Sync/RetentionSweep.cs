using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>The working tables the nightly run removes expired rows from.</summary>
public enum RetentionTarget
{
    /// <summary>Finished webhook intake records (<c>Retention:IntakeDays</c>).</summary>
    Intake,

    /// <summary>Completed nightly runs, their report row and batch rows together (<c>Retention:SyncRunsDays</c>).</summary>
    SyncRuns,

    /// <summary>Audit table rows (<c>Retention:AuditDays</c>, off by default).</summary>
    Audit,
}

/// <summary>
/// Removes expired rows, one bounded page per batch, each batch planning the next: the tables only grow, and the intake
/// sweep's cost grows with its table. Only rows nothing will read again are removed: finished intakes, completed runs
/// (batch rows before the run row, so a run cut off half-way is found again), and audit rows (never the chain's blobs).
/// </summary>
public sealed partial class RetentionSweep(
    StorageClients clients,
    IOptions<StorageOptions> storage,
    IOptions<RetentionOptions> options,
    ILogger<RetentionSweep> logger)
{
    private const int DeleteConcurrency = 8;

    // Entity-group transactions hold at most 100 operations.
    private const int MaxTransaction = 100;

    // Runs read per page: each run's batch rows are then removed in its own partition.
    private const int RunsPerPage = 10;

    /// <summary>The retention batches of a run: one per table whose retention is on.</summary>
    public IReadOnlyList<SyncWorkItem> Plan()
    {
        var settings = options.Value;
        return new (RetentionTarget Target, int Days)[] { (RetentionTarget.Intake, settings.IntakeDays), (RetentionTarget.SyncRuns, settings.SyncRunsDays), (RetentionTarget.Audit, settings.AuditDays) }
            .Where(t => t.Days > 0)
            .Select(t => new SyncWorkItem { Kind = SyncWorkKind.Retention, Target = t.Target.ToString() })
            .ToList();
    }

    public async Task RunAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var target = Enum.Parse<RetentionTarget>(item.Target ?? throw new FormatException("A retention item names no table."));
        var settings = options.Value;
        var days = target switch
        {
            RetentionTarget.Intake => settings.IntakeDays,
            RetentionTarget.SyncRuns => settings.SyncRunsDays,
            _ => settings.AuditDays,
        };
        if (days == 0)
        {
            // Switched off since the run was planned.
            return;
        }

        // Fixed by the run, not the clock, so every page (and every retry of one) removes the same rows.
        var cutoff = context.Run.Until - TimeSpan.FromDays(days);
        var budget = Math.Min(settings.BatchRows, settings.MaxRowsPerRun - (item.RowsRemoved ?? 0));
        var (removed, continuation) = target switch
        {
            RetentionTarget.Intake => await RemoveIntakesAsync(cutoff, item.Continuation, budget, cancellationToken),
            RetentionTarget.SyncRuns => await RemoveRunsAsync(cutoff, item.Continuation, budget, context.RunId, cancellationToken),
            _ => await RemoveAuditAsync(cutoff, item.Continuation, budget, cancellationToken),
        };

        context.Count(c => c.RowsRemoved[target.ToString()] = c.RowsRemoved.GetValueOrDefault(target.ToString()) + removed);
        var total = (item.RowsRemoved ?? 0) + removed;
        if (continuation is null)
        {
            return;
        }

        if (total >= settings.MaxRowsPerRun)
        {
            Log.RunBoundReached(logger, context.RunId, target.ToString(), total);
            return;
        }

        context.Children.Add(item with { Continuation = continuation, RowsRemoved = total });
    }

    private TableClient Table(string name) => clients.Tables.GetTableClient(name);

    private async Task<(int Removed, string? Continuation)> RemoveIntakesAsync(DateTimeOffset cutoff, string? continuation, int budget, CancellationToken cancellationToken)
    {
        // Unfinished intakes stay whatever their age: the sweep still owes them their push.
        var queued = nameof(IntakeStage.Queued);
        var filter = TableClient.CreateQueryFilter($"Stage eq {queued} and CompletedAt lt {cutoff}");
        var page = await FirstPageAsync(Table(storage.Value.IntakeTable), filter, continuation, budget, cancellationToken);

        // One row per partition (the event id's hash), so no transaction can group them.
        var removed = 0;
        await Parallel.ForEachAsync(page.Values, new ParallelOptions { MaxDegreeOfParallelism = DeleteConcurrency, CancellationToken = cancellationToken }, async (row, ct) =>
        {
            if (await DeleteAsync(Table(storage.Value.IntakeTable), row.PartitionKey, row.RowKey, ct))
            {
                Interlocked.Increment(ref removed);
            }
        });

        return (removed, page.ContinuationToken);
    }

    private async Task<(int Removed, string? Continuation)> RemoveRunsAsync(DateTimeOffset cutoff, string? continuation, int budget, string currentRunId, CancellationToken cancellationToken)
    {
        var table = Table(storage.Value.SyncRunsTable);
        var completed = nameof(SyncPhase.Completed);
        var filter = TableClient.CreateQueryFilter($"RowKey eq {SyncRunEntity.RowKeyValue} and Phase eq {completed} and StartedAt lt {cutoff}");
        var page = await FirstPageAsync(table, filter, continuation, RunsPerPage, cancellationToken);
        var removed = 0;
        foreach (var run in page.Values.Where(r => r.PartitionKey != currentRunId))
        {
            var partition = TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and RowKey ne {SyncRunEntity.RowKeyValue}");
            var rows = new List<TableEntity>();
            await foreach (var row in table.QueryAsync<TableEntity>(partition, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
            {
                rows.Add(row);
                if (removed + rows.Count >= budget)
                {
                    break;
                }
            }

            removed += await DeleteInTransactionsAsync(table, rows, cancellationToken);
            if (removed >= budget)
            {
                // The run row is still there, so the next batch (from the same place) finds this run again.
                return (removed, continuation ?? FirstPage);
            }

            removed += await DeleteAsync(table, run.PartitionKey, run.RowKey, cancellationToken) ? 1 : 0;
        }

        return (removed, page.ContinuationToken);
    }

    private async Task<(int Removed, string? Continuation)> RemoveAuditAsync(DateTimeOffset cutoff, string? continuation, int budget, CancellationToken cancellationToken)
    {
        var table = Table(storage.Value.AuditTable);
        var filter = TableClient.CreateQueryFilter($"RecordedAt lt {cutoff}");
        var page = await FirstPageAsync(table, filter, continuation, budget, cancellationToken);
        return (await DeleteInTransactionsAsync(table, page.Values, cancellationToken), page.ContinuationToken);
    }

    // A continuation that means "the first page": the next batch starts the (filtered) scan again.
    private const string FirstPage = "";

    private static async Task<(IReadOnlyList<TableEntity> Values, string? ContinuationToken)> FirstPageAsync(
        TableClient table, string filter, string? continuation, int pageSize, CancellationToken cancellationToken)
    {
        var from = string.IsNullOrEmpty(continuation) ? null : continuation;
        var size = Math.Min(pageSize, 1000);
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: size, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).AsPages(from, size))
        {
            return (page.Values, page.ContinuationToken);
        }

        return ([], null);
    }

    /// <summary>Rows grouped by partition (a query returns them in key order), up to 100 deletes per transaction.</summary>
    private static async Task<int> DeleteInTransactionsAsync(TableClient table, IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken)
    {
        var groups = rows.GroupBy(r => r.PartitionKey).SelectMany(g => g.Chunk(MaxTransaction)).ToList();
        var removed = 0;
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = DeleteConcurrency, CancellationToken = cancellationToken }, async (group, ct) =>
        {
            try
            {
                await table.SubmitTransactionAsync(group.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), ct);
                Interlocked.Add(ref removed, group.Length);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404)
            {
                // A row went meanwhile (a retried batch removed part of the group): remove the rest one by one.
                foreach (var row in group)
                {
                    if (await DeleteAsync(table, row.PartitionKey, row.RowKey, ct))
                    {
                        Interlocked.Increment(ref removed);
                    }
                }
            }
        });

        return removed;
    }

    private static async Task<bool> DeleteAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 565, Level = LogLevel.Information, Message = "Sync run {RunId}: removed {Removed} expired {Table} rows, the most one run removes; the rest wait for the next run")]
        public static partial void RunBoundReached(ILogger logger, string runId, string table, int removed);
    }
}
