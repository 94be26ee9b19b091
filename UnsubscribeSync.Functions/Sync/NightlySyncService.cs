using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>What a timer tick did.</summary>
public enum NightlySyncOutcome
{
    /// <summary><c>Sync:NightlyEnabled</c> is false: only the intake sweep was planned (no Salesforce work).</summary>
    Disabled,

    /// <summary>A new run was planned and its first batches queued.</summary>
    Started,

    /// <summary>A run is still making progress; this tick leaves it alone.</summary>
    Waiting,

    /// <summary>A run had stalled (a crash, lost messages); its unfinished batches were queued again.</summary>
    Resumed,
}

/// <summary>Plans the nightly run: one run at a time, resumed rather than doubled.</summary>
public interface INightlySyncService
{
    /// <summary>Handles one timer tick (or manual run).</summary>
    Task<NightlySyncOutcome> TickAsync(bool isPastDue, CancellationToken cancellationToken);
}

/// <summary>
/// The timer's planner. The lease row in SyncState names the open run; a tick that finds one closes it if
/// all its batches reported, resumes it if it stalled (queuing only batches no live claim says are running),
/// and otherwise waits; a lease whose run has no row yet is still being planned. A new run takes the lease
/// with an ETag (so two ticks cannot both start one) and queues its first batches: three inbound pages (Contact, Lead, Person Account) and the
/// first page of the intake sweep (the sweep alone when the nightly sync is off, so a half-finished webhook
/// intake is still finished). Every further batch is planned by the batches themselves; the tick itself reads
/// and writes a handful of rows, however large the tables grow.
/// </summary>
public sealed partial class NightlySyncService(
    SyncRunStore store,
    ISyncBatchQueue queue,
    SyncRunCloser closer,
    IOptions<SyncOptions> syncOptions,
    IOptions<NightlySyncOptions> nightlyOptions,
    TimeProvider timeProvider,
    ILogger<NightlySyncService> logger) : INightlySyncService
{
    public async Task<NightlySyncOutcome> TickAsync(bool isPastDue, CancellationToken cancellationToken)
    {
        var enabled = syncOptions.Value.NightlyEnabled;
        Log.Tick(logger, isPastDue, enabled);
        var options = nightlyOptions.Value;
        var now = timeProvider.GetUtcNow();

        var lease = await store.GetLeaseAsync(cancellationToken);
        if (lease?.RunId is { } openRunId)
        {
            var open = await store.GetRunAsync(openRunId, cancellationToken);
            if (open is null)
            {
                // The tick that took the lease writes its run row next, so a missing row means that tick is still
                // planning (or is slow to); only a lease older than the stall limit belongs to a tick that died.
                if (now - lease.UpdatedAt < options.StallAfter)
                {
                    Log.StillPlanning(logger, openRunId);
                    return NightlySyncOutcome.Waiting;
                }

                Log.PlanningAbandoned(logger, openRunId);
            }
            else if (open.SyncPhase != SyncPhase.Completed)
            {
                if (open.BatchesDone == open.BatchesPlanned)
                {
                    // Every batch reported but the closer never ran (a crash): close it now, then start afresh.
                    await closer.CloseAsync(openRunId, cancellationToken);
                }
                else if (now - open.LastProgressAt >= options.StallAfter)
                {
                    var requeued = 0;
                    var running = 0;
                    await foreach (var batch in store.PendingBatchesAsync(openRunId, cancellationToken))
                    {
                        if (batch.IsClaimedAt(now))
                        {
                            // Its claimant is still within its lifetime: a second copy would write to Salesforce beside it.
                            running++;
                            continue;
                        }

                        await queue.SendAsync(new SyncBatchMessage(openRunId, batch.BatchId), cancellationToken);
                        requeued++;
                    }

                    if (requeued == 0 && running > 0)
                    {
                        Log.StillRunning(logger, openRunId, open.BatchesDone, open.BatchesPlanned);
                        return NightlySyncOutcome.Waiting;
                    }

                    Log.Resumed(logger, openRunId, requeued, running);
                    return NightlySyncOutcome.Resumed;
                }
                else
                {
                    Log.StillRunning(logger, openRunId, open.BatchesDone, open.BatchesPlanned);
                    return NightlySyncOutcome.Waiting;
                }
            }

            lease = await store.GetLeaseAsync(cancellationToken);
        }

        var runId = $"{now.UtcDateTime:yyyyMMddTHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
        if (!await store.TryAcquireLeaseAsync(lease, runId, cancellationToken))
        {
            Log.LostRace(logger);
            return NightlySyncOutcome.Waiting;
        }

        var sweep = new SyncWorkItem { Kind = SyncWorkKind.IntakeSweep };
        SyncRunEntity run;
        IReadOnlyList<SyncWorkItem> seeds;
        if (!enabled)
        {
            run = new SyncRunEntity { PartitionKey = runId, Mode = SyncRunEntity.IntakesOnlyMode, StartedAt = now, Until = now };
            seeds = [sweep];
        }
        else
        {
            var watermark = (await store.GetWatermarkAsync(cancellationToken))?.Watermark;
            var full = options.ForceFullReconcile || watermark is null;
            run = new SyncRunEntity
            {
                PartitionKey = runId,
                Mode = full ? "full" : "incremental",
                StartedAt = now,
                Since = full ? null : watermark - options.WatermarkOverlap,
                Until = now,
            };
            seeds =
            [
                new SyncWorkItem { Kind = SyncWorkKind.Inbound, ObjectType = "Contact" },
                new SyncWorkItem { Kind = SyncWorkKind.Inbound, ObjectType = "Lead" },
                // Read only where the org has Person Accounts; elsewhere the batch finds none and says so in the report.
                new SyncWorkItem { Kind = SyncWorkKind.Inbound, ObjectType = nameof(SalesforceObjectType.PersonAccount) },
                sweep,
            ];
        }

        var planned = await store.CreateRunAsync(run, seeds, cancellationToken);
        foreach (var batch in planned)
        {
            await queue.SendAsync(batch, cancellationToken);
        }

        if (!enabled)
        {
            Log.Disabled(logger, runId);
            return NightlySyncOutcome.Disabled;
        }

        Log.Started(logger, runId, run.Mode, run.Since);
        return NightlySyncOutcome.Started;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Nightly sync is switched off (Sync:NightlyEnabled=false); run {RunId} only finishes half-finished webhook intakes")]
        public static partial void Disabled(ILogger logger, string runId);

        [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Nightly sync tick (past due: {IsPastDue}, sync enabled: {Enabled})")]
        public static partial void Tick(ILogger logger, bool isPastDue, bool enabled);

        [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "Sync run {RunId} started ({Mode}, changes since {Since}); half-finished webhook intakes are swept in its first phase")]
        public static partial void Started(ILogger logger, string runId, string mode, DateTimeOffset? since);

        [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Sync run {RunId} is still running ({Done} of {Planned} batches done); this tick waits")]
        public static partial void StillRunning(ILogger logger, string runId, int done, int planned);

        [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Sync run {RunId} had stalled; {Requeued} unfinished batches queued again, {Running} left to the copies still running them")]
        public static partial void Resumed(ILogger logger, string runId, int requeued, int running);

        [LoggerMessage(EventId = 505, Level = LogLevel.Information, Message = "Another invocation started a sync run at the same moment; this one stands down")]
        public static partial void LostRace(ILogger logger);

        [LoggerMessage(EventId = 507, Level = LogLevel.Information, Message = "Sync run {RunId} holds the lease and is still being planned; this tick waits")]
        public static partial void StillPlanning(ILogger logger, string runId);

        [LoggerMessage(EventId = 508, Level = LogLevel.Warning, Message = "Sync run {RunId} took the lease but was never planned (its tick died); this tick takes the lease over")]
        public static partial void PlanningAbandoned(ILogger logger, string runId);
    }
}
