using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Closes a run whose batches have all reported: sums the report, moves the watermark (only when the
/// inbound pass read everything), notes the check of the previous day's audit chain in the report, marks the run
/// completed and frees the lease. Safe to repeat.
/// </summary>
public sealed partial class SyncRunCloser(SyncRunStore store, ILogger<SyncRunCloser> logger, IAuditChainCheck? auditChain = null)
{
    public async Task<SyncRunReport?> CloseAsync(string runId, CancellationToken cancellationToken)
    {
        var run = await store.GetRunAsync(runId, cancellationToken);
        if (run is null || run.SyncPhase == SyncPhase.Completed || run.BatchesDone < run.BatchesPlanned)
        {
            return null;
        }

        var counters = await store.SumResultsAsync(runId, cancellationToken);

        // Yesterday as the run saw it, so a repeated close checks the same day: a finished day's chain no longer grows.
        if (auditChain is not null)
        {
            counters.AuditChain = await auditChain.CheckAsync(DateOnly.FromDateTime(run.Until.UtcDateTime).AddDays(-1), cancellationToken);
        }

        // A run that skipped part of the inbound pass keeps the old watermark, so the next run reads those changes again.
        var advance = !run.BudgetStopped && !run.InboundIncomplete && !run.IsIntakesOnly;
        if (advance)
        {
            await store.AdvanceWatermarkAsync(runId, run.Until, counters.HighestSystemModstamp, cancellationToken);
        }

        if (!await store.MarkCompletedAsync(run, counters, advance, cancellationToken))
        {
            // Someone else closed it at the same moment.
            return null;
        }

        await store.ReleaseLeaseAsync(runId, cancellationToken);
        Log.RunCompleted(
            logger, runId, run.Mode, run.StartedAt, run.EndedAt, counters.RecordsRead, counters.Written, counters.AlreadyCorrect,
            counters.Failed, string.Join(",", counters.FailedByCode.Select(p => $"{p.Key}={p.Value}")), counters.AwaitingId,
            counters.Deferred, counters.Drift, counters.OptOutsImported, counters.ApiCalls, run.BudgetStopped, advance);
        return new SyncRunReport(runId, run.Mode, run.StartedAt, run.EndedAt, run.BudgetStopped, advance, advance ? run.Until : null, counters);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 530, Level = LogLevel.Information, Message = "Sync run {RunId} ({Mode}) completed: started {StartedAt}, ended {EndedAt}; "
            + "{RecordsRead} records read, {Written} written, {AlreadyCorrect} already correct, {Failed} failed ({FailedByCode}), "
            + "{AwaitingId} awaiting an Id, {Deferred} deferred, {Drift} drift, {OptOutsImported} opt-outs imported, "
            + "{ApiCalls} Salesforce API calls, budget stopped {BudgetStopped}, watermark advanced {WatermarkAdvanced}")]
        public static partial void RunCompleted(
            ILogger logger, string runId, string mode, DateTimeOffset startedAt, DateTimeOffset? endedAt, int recordsRead, int written, int alreadyCorrect,
            int failed, string failedByCode, int awaitingId, int deferred, int drift, int optOutsImported, int apiCalls, bool budgetStopped, bool watermarkAdvanced);
    }
}
