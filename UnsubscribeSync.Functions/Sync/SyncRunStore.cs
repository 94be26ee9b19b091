using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>What recording a batch's completion did to its run.</summary>
/// <param name="Enqueue">New batches (continuations, writes, the next phase) to put on the queue.</param>
/// <param name="ReadyToClose">This was the last batch: the caller closes the run.</param>
/// <param name="AlreadyDone">The batch had been recorded before (a redelivered message).</param>
public sealed record BatchCompletion(IReadOnlyList<SyncBatchMessage> Enqueue, bool ReadyToClose, bool AlreadyDone);

/// <summary>
/// The run bookkeeping in Table Storage: the lease and watermark rows (SyncState) and the run and batch
/// rows (SyncRuns). Every change that two workers could race on is an ETag-guarded replace, and a batch's
/// completion, its follow-up batches and the run's counters change together in one transaction.
/// </summary>
public sealed class SyncRunStore(StorageClients clients, IOptions<StorageOptions> options, TimeProvider timeProvider)
{
    private const int MaxConcurrencyAttempts = 30;

    private TableClient Runs => clients.Tables.GetTableClient(options.Value.SyncRunsTable);

    private TableClient State => clients.Tables.GetTableClient(options.Value.SyncStateTable);

    public Task<SyncStateEntity?> GetLeaseAsync(CancellationToken cancellationToken) => GetStateAsync(SyncStateEntity.LeaseRow, cancellationToken);

    public Task<SyncStateEntity?> GetWatermarkAsync(CancellationToken cancellationToken) => GetStateAsync(SyncStateEntity.WatermarkRow, cancellationToken);

    /// <summary>Points the lease at a new run if it still is as read (null = no lease row yet). False when another run took it first.</summary>
    public async Task<bool> TryAcquireLeaseAsync(SyncStateEntity? current, string runId, CancellationToken cancellationToken)
    {
        var lease = new SyncStateEntity { RowKey = SyncStateEntity.LeaseRow, RunId = runId, UpdatedAt = timeProvider.GetUtcNow() };
        try
        {
            if (current is null)
            {
                await State.AddEntityAsync(lease, cancellationToken);
            }
            else
            {
                await State.UpdateEntityAsync(lease, current.ETag, TableUpdateMode.Replace, cancellationToken);
            }

            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Clears the lease if it still names this run.</summary>
    public async Task ReleaseLeaseAsync(string runId, CancellationToken cancellationToken)
    {
        var lease = await GetLeaseAsync(cancellationToken);
        if (lease?.RunId != runId)
        {
            return;
        }

        lease.RunId = null;
        lease.UpdatedAt = timeProvider.GetUtcNow();

        // False: someone else released or replaced it meanwhile; either way it no longer names this run.
        await State.TryUpdateAsync(lease, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>Moves the watermark forward (never back), guarded by its ETag so two closers cannot both move it.</summary>
    public Task<bool> AdvanceWatermarkAsync(string runId, DateTimeOffset watermark, DateTimeOffset? highestSeen, CancellationToken cancellationToken) =>
        // Another closer may move it at the same moment; every attempt reads again and only moves forward.
        OptimisticConcurrency.RetryAsync(
            async _ =>
            {
                var current = await GetWatermarkAsync(cancellationToken);
                if (current?.Watermark is { } existing && existing >= watermark)
                {
                    return current.RunId == runId;
                }

                var row = new SyncStateEntity
                {
                    RowKey = SyncStateEntity.WatermarkRow,
                    RunId = runId,
                    Watermark = watermark,
                    HighestSystemModstamp = highestSeen,
                    UpdatedAt = timeProvider.GetUtcNow(),
                };
                if (current is null)
                {
                    await State.AddEntityAsync(row, cancellationToken);
                }
                else
                {
                    await State.UpdateEntityAsync(row, current.ETag, TableUpdateMode.Replace, cancellationToken);
                }

                return true;
            },
            MaxConcurrencyAttempts,
            cancellationToken);

    /// <summary>Creates the run row and its first batches in one transaction.</summary>
    public async Task<IReadOnlyList<SyncBatchMessage>> CreateRunAsync(SyncRunEntity run, IReadOnlyList<SyncWorkItem> seeds, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var batches = seeds.Select(item => NewBatch(run.PartitionKey, null, item, now)).ToList();
        run.BatchesPlanned = batches.Count;
        run.LastProgressAt = now;
        var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Add, run) };
        actions.AddRange(batches.Select(b => new TableTransactionAction(TableTransactionActionType.Add, b)));
        await Runs.SubmitTransactionAsync(actions, cancellationToken);
        return [.. batches.Select(b => new SyncBatchMessage(run.PartitionKey, b.BatchId))];
    }

    public async Task<SyncRunEntity?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        var response = await Runs.GetEntityIfExistsAsync<SyncRunEntity>(runId, SyncRunEntity.RowKeyValue, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task<SyncBatchEntity?> GetBatchAsync(string runId, string batchId, CancellationToken cancellationToken)
    {
        var response = await Runs.GetEntityIfExistsAsync<SyncBatchEntity>(runId, SyncBatchEntity.RowKeyFor(batchId), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Claims a batch for one copy of its message until <paramref name="lifetime"/> has passed, if the row is still as
    /// read. False when the batch is done or another copy holds a live claim or claimed it first: that copy runs it.
    /// </summary>
    public async Task<bool> TryClaimBatchAsync(SyncBatchEntity batch, string claimant, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (batch.Done || batch.IsClaimedAt(now))
        {
            return false;
        }

        batch.ClaimedBy = claimant;
        batch.ClaimedUntil = now + lifetime;
        return await Runs.TryUpdateAsync(batch, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Gives a claim back (the claimant failed), so the queue's retry of the same message can run the batch at once
    /// instead of standing down. Best effort: a claim that cannot be given back simply lapses.
    /// </summary>
    public async Task ReleaseBatchClaimAsync(SyncBatchEntity batch, CancellationToken cancellationToken)
    {
        batch.ClaimedBy = null;
        batch.ClaimedUntil = null;
        try
        {
            var response = await Runs.UpdateEntityAsync(batch, batch.ETag, TableUpdateMode.Replace, cancellationToken);
            batch.ETag = response.Headers.ETag ?? batch.ETag;
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            // 412: another copy took the lapsed claim over, and the batch is its now. Anything else: the claim lapses.
        }
    }

    /// <summary>
    /// Records a batch as done with its result, adds its follow-up batches, and counts it on the run, all in
    /// one transaction. When it is the last batch of the inbound phase, <paramref name="nextPhase"/> is planned
    /// in the same transaction; when it is the last of the outbound phase, the run is ready to close.
    /// </summary>
    public async Task<BatchCompletion> CompleteBatchAsync(
        string runId,
        string batchId,
        SyncCounters result,
        IReadOnlyList<SyncWorkItem> children,
        bool budgetStopped,
        bool inboundIncomplete,
        Func<SyncRunEntity, IReadOnlyList<SyncWorkItem>> nextPhase,
        CancellationToken cancellationToken)
    {
        // Every batch of a run reports into the run row, so they contend for it: each attempt re-reads and recounts,
        // with a short jittered pause so a dozen batches finishing together do not collide again at once.
        return await OptimisticConcurrency.RetryAsync(
            async _ =>
            {
                var run = await GetRunAsync(runId, cancellationToken) ?? throw new InvalidOperationException($"Sync run {runId} does not exist.");
                var batch = await GetBatchAsync(runId, batchId, cancellationToken) ?? throw new InvalidOperationException($"Sync batch {batchId} of run {runId} does not exist.");
                if (batch.Done)
                {
                    return new BatchCompletion([], false, true);
                }

                var now = timeProvider.GetUtcNow();
                batch.Done = true;
                batch.CompletedAt = now;
                batch.ResultJson = result.ToJson();
                // Each child names its parent: if the parent's worker dies before queuing it, the parent's redelivered
                // message finds it (PendingChildBatchesAsync) within the same run, not the next night's tick.
                var added = children.Select(item => NewBatch(runId, batchId, item, now)).ToList();

                run.BatchesDone++;
                run.BatchesPlanned += added.Count;
                run.LastProgressAt = now;
                run.BudgetStopped |= budgetStopped;
                run.InboundIncomplete |= inboundIncomplete;
                var readyToClose = false;
                if (run.BatchesDone == run.BatchesPlanned)
                {
                    if (run.SyncPhase == SyncPhase.Inbound)
                    {
                        // The outbound pass starts only after inbound: it then knows which links inbound confirmed.
                        run.Phase = nameof(SyncPhase.Outbound);
                        var next = nextPhase(run).Select(item => NewBatch(runId, batchId, item, now)).ToList();
                        added.AddRange(next);
                        run.BatchesPlanned += next.Count;
                    }

                    if (run.BatchesDone == run.BatchesPlanned)
                    {
                        run.Phase = nameof(SyncPhase.Closing);
                        readyToClose = true;
                    }
                }

                var actions = new List<TableTransactionAction>
                {
                    new(TableTransactionActionType.UpdateReplace, run, run.ETag),
                    new(TableTransactionActionType.UpdateReplace, batch, batch.ETag),
                };
                actions.AddRange(added.Select(b => new TableTransactionAction(TableTransactionActionType.Add, b)));

                await Runs.SubmitTransactionAsync(actions, cancellationToken);
                return new BatchCompletion([.. added.Select(b => new SyncBatchMessage(runId, b.BatchId))], readyToClose, false);
            },
            MaxConcurrencyAttempts,
            cancellationToken,
            backoff: TimeSpan.FromMilliseconds(25));
    }

    /// <summary>Batches of a run that have not reported yet (to re-enqueue when the run stalled, unless a live claim says one is still running).</summary>
    public async IAsyncEnumerable<SyncBatchEntity> PendingBatchesAsync(string runId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = SyncBatchEntity.RowKeyPrefix;
        var to = SyncBatchEntity.RowKeyPrefix[..^1] + (char)(SyncBatchEntity.RowKeyPrefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey ge {from} and RowKey lt {to} and Done eq false");
        await foreach (var batch in Runs.QueryAsync<SyncBatchEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return batch;
        }
    }

    /// <summary>Batches planned by <paramref name="parentBatchId"/> that have not reported yet (one query within the run's partition).</summary>
    public async IAsyncEnumerable<SyncBatchEntity> PendingChildBatchesAsync(string runId, string parentBatchId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and ParentBatchId eq {parentBatchId} and Done eq false");
        await foreach (var batch in Runs.QueryAsync<SyncBatchEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return batch;
        }
    }

    /// <summary>Sums every batch's result, streaming the run's partition.</summary>
    public async Task<SyncCounters> SumResultsAsync(string runId, CancellationToken cancellationToken)
    {
        var from = SyncBatchEntity.RowKeyPrefix;
        var to = SyncBatchEntity.RowKeyPrefix[..^1] + (char)(SyncBatchEntity.RowKeyPrefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey ge {from} and RowKey lt {to}");
        var total = new SyncCounters();
        await foreach (var batch in Runs.QueryAsync<SyncBatchEntity>(filter, select: ["ResultJson"], cancellationToken: cancellationToken))
        {
            total.Add(SyncCounters.FromJson(batch.ResultJson));
        }

        return total;
    }

    /// <summary>Marks the run completed with its report, if nobody closed it first.</summary>
    public async Task<bool> MarkCompletedAsync(SyncRunEntity run, SyncCounters report, bool watermarkAdvanced, CancellationToken cancellationToken)
    {
        run.Phase = nameof(SyncPhase.Completed);
        run.EndedAt = timeProvider.GetUtcNow();
        run.ReportJson = report.ToJson();
        run.WatermarkAdvanced = watermarkAdvanced;
        return await Runs.TryUpdateAsync(run, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>Every run row, newest first. Scans the table (one row per run is selected by the filter); meant for tests and admin tooling.</summary>
    public async Task<IReadOnlyList<SyncRunEntity>> ListRunsAsync(CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey eq {SyncRunEntity.RowKeyValue}");
        var runs = new List<SyncRunEntity>();
        await foreach (var run in Runs.QueryAsync<SyncRunEntity>(filter, cancellationToken: cancellationToken))
        {
            runs.Add(run);
        }

        return runs.OrderByDescending(r => r.StartedAt).ToList();
    }

    private async Task<SyncStateEntity?> GetStateAsync(string rowKey, CancellationToken cancellationToken)
    {
        var response = await State.GetEntityIfExistsAsync<SyncStateEntity>(SyncStateEntity.PartitionValue, rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private static SyncBatchEntity NewBatch(string runId, string? parentBatchId, SyncWorkItem item, DateTimeOffset now) => new()
    {
        PartitionKey = runId,
        ParentBatchId = parentBatchId,
        RowKey = SyncBatchEntity.RowKeyFor(Guid.NewGuid().ToString("N")),
        Kind = item.Kind.ToString(),
        ItemJson = item.ToJson(),
        CreatedAt = now,
    };
}
