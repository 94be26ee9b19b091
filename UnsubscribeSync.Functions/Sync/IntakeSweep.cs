using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Finishes webhook intakes that stopped half-way (the caller never retried), one page of the Intake table per
/// batch. It runs as queued batches of the run's first phase, not inside the timer tick: the table only grows, a
/// timer invocation is not retried, and a page that fails is retried by the queue on its own.
/// </summary>
public sealed partial class IntakeSweep(
    IIntakeRecords intakeRecords,
    IIntakeService intake,
    IOptions<NightlySyncOptions> options,
    ILogger<IntakeSweep> logger)
{
    public async Task RunAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        // Fixed by the run, not the clock, so every page (and every retry of one) looks for the same records.
        var olderThan = context.Run.Until - options.Value.IntakeSweepAge;
        var page = await intakeRecords.FindUnfinishedPageAsync(olderThan, item.Continuation, options.Value.IntakeSweepPageSize, cancellationToken);
        foreach (var record in page.Records)
        {
            try
            {
                if (await intake.CompleteAsync(record, cancellationToken))
                {
                    context.Count(c => c.IntakesCompleted++);
                }
            }
            catch (Exception ex) when (!StorageUnavailableException.IsUnavailable(ex, cancellationToken) && ex is not OperationCanceledException)
            {
                // One record that cannot be finished (a damaged row, an event that no longer reads) must not cost the
                // others the night: it stays unfinished and counted. Storage being down is different: the page fails
                // and the queue retries it, finding the records already finished queued and skipping them.
                context.Count(c => c.IntakesFailed++);
                Log.IntakeFailed(logger, ex, context.RunId, record.PartitionKey);
            }
        }

        if (page.Continuation is not null)
        {
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.IntakeSweep, Continuation = page.Continuation });
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 560, Level = LogLevel.Error, Message = "Sync run {RunId}: the half-finished intake {IntakeKey} could not be finished; it stays for a webhook retry or the next sweep")]
        public static partial void IntakeFailed(ILogger logger, Exception exception, string runId, string intakeKey);
    }
}
