using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>Runs one sync batch from the queue.</summary>
public interface ISyncBatchRunner
{
    /// <summary>
    /// Executes the batch (once: a batch already recorded is skipped, and a copy that finds another copy's live claim
    /// on it stands down) and records its result under the run.
    /// </summary>
    /// <param name="messageText">The queue message (a <see cref="SyncBatchMessage"/>).</param>
    /// <param name="dequeueCount">The queue's delivery count; on the last attempt a failing batch is recorded as abandoned so the run can finish.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task RunAsync(string messageText, long dequeueCount, CancellationToken cancellationToken);

    /// <summary>
    /// Records a batch whose message reached the poison queue as abandoned (unless its result was recorded), so its run
    /// can close; an abandoned inbound page keeps the watermark.
    /// </summary>
    /// <param name="messageText">The poisoned queue message (a <see cref="SyncBatchMessage"/>).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task RecordPoisonedAsync(string messageText, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class SyncBatchRunner(
    SyncRunStore store,
    ISyncBatchQueue queue,
    InboundSync inbound,
    OutboundSync outbound,
    IntakeSweep intakeSweep,
    RetentionSweep retention,
    SyncRunCloser closer,
    ApiBudget budget,
    IOptions<NightlySyncOptions> options,
    TimeProvider timeProvider,
    ILogger<SyncBatchRunner> logger) : ISyncBatchRunner
{
    // The outbound pass, planned in the transaction that records the first phase's last batch (inbound pages and intake
    // sweep pages), so it sees every opt-out both brought into the ledger. A sweep-only run has no outbound pass. The
    // retention batches go with it: after the sweep, so an intake is never removed while the sweep may still finish it.
    private IReadOnlyList<SyncWorkItem> OutboundPhase(SyncRunEntity run) =>
        [.. run.IsIntakesOnly ? [] : new[] { new SyncWorkItem { Kind = SyncWorkKind.OutboxScan } }, .. retention.Plan()];

    public async Task RunAsync(string messageText, long dequeueCount, CancellationToken cancellationToken)
    {
        if (await ClaimAsync(messageText, cancellationToken) is not var (message, batch, run))
        {
            return;
        }

        try
        {
            await RunClaimedAsync(message, batch, run, dequeueCount, cancellationToken);
        }
        catch
        {
            // The queue retries this message; with the claim still held, that retry would stand down instead of running it.
            await store.ReleaseBatchClaimAsync(batch, CancellationToken.None);
            throw;
        }
    }

    public async Task RecordPoisonedAsync(string messageText, CancellationToken cancellationToken)
    {
        if (await ClaimAsync(messageText, cancellationToken) is not var (message, batch, _))
        {
            return;
        }

        var kind = SyncWorkItem.FromJson(batch.ItemJson).Kind;
        Log.BatchPoisoned(logger, message.RunId, message.BatchId, kind.ToString());
        var completion = await store.CompleteBatchAsync(
            message.RunId,
            message.BatchId,
            new SyncCounters { BatchesAbandoned = 1 },
            [],
            budgetStopped: false,
            inboundIncomplete: kind == SyncWorkKind.Inbound,
            OutboundPhase,
            cancellationToken);
        await SettleAsync(message, batch, completion, cancellationToken);
    }

    /// <summary>
    /// Reads the message's batch and run and claims the batch for this copy. Null when there is nothing for this copy to
    /// run: an unreadable message, a finished run, a batch another copy holds, or one already recorded (whose hand-off
    /// this copy then finishes: the copy that recorded it may have died before its children reached the queue).
    /// </summary>
    private async Task<(SyncBatchMessage Message, SyncBatchEntity Batch, SyncRunEntity Run)?> ClaimAsync(string messageText, CancellationToken cancellationToken)
    {
        SyncBatchMessage message;
        try
        {
            message = SyncBatchMessage.FromJson(messageText);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException)
        {
            // Retrying cannot fix a message we cannot read; a run whose batch it was is resumed from its batch rows.
            Log.Unreadable(logger, ex);
            return null;
        }

        var batch = await store.GetBatchAsync(message.RunId, message.BatchId, cancellationToken);
        var run = await store.GetRunAsync(message.RunId, cancellationToken);
        if (batch is null || run is null || run.SyncPhase == SyncPhase.Completed)
        {
            return null;
        }

        if (batch.Done)
        {
            await FinishHandOffAsync(run, batch, cancellationToken);
            return null;
        }

        if (!await store.TryClaimBatchAsync(batch, Guid.NewGuid().ToString("N"), options.Value.BatchClaimLifetime, cancellationToken))
        {
            // Another copy of this message is running the batch and will record it; if its worker dies, its claim lapses
            // and the stall path queues the batch again. Completing this copy's message loses nothing.
            Log.StoodDown(logger, message.RunId, message.BatchId);
            return null;
        }

        return (message, batch, run);
    }

    private async Task RunClaimedAsync(SyncBatchMessage message, SyncBatchEntity batch, SyncRunEntity run, long dequeueCount, CancellationToken cancellationToken)
    {
        var item = SyncWorkItem.FromJson(batch.ItemJson);
        var context = new SyncBatchContext(run, budget);
        using var calls = SalesforceCallMeter.Start();
        try
        {
            await ExecuteAsync(item, context, cancellationToken);
        }
        catch (Exception ex) when (dequeueCount >= options.Value.BatchMaxAttempts && ex is not OperationCanceledException)
        {
            // Last attempt: record the batch as given up so the run can finish; an inbound page given up keeps the watermark.
            Log.BatchAbandoned(logger, ex, message.RunId, message.BatchId, item.Kind.ToString(), dequeueCount);
            context.Counters.BatchesAbandoned++;
            context.InboundIncomplete |= item.Kind == SyncWorkKind.Inbound;
            context.Children.Clear();
        }

        // Every request this batch made to Salesforce, retries, describes and token requests included.
        context.Counters.ApiCalls = calls.Calls;

        var completion = await store.CompleteBatchAsync(
            message.RunId,
            message.BatchId,
            context.Counters,
            context.Children,
            context.BudgetStopped,
            context.InboundIncomplete,
            OutboundPhase,
            cancellationToken);
        await SettleAsync(message, batch, completion, cancellationToken);
    }

    /// <summary>Queues what the recorded batch planned and closes the run if it was the last.</summary>
    private async Task SettleAsync(SyncBatchMessage message, SyncBatchEntity batch, BatchCompletion completion, CancellationToken cancellationToken)
    {
        if (completion.AlreadyDone)
        {
            // Only the claimant records a batch, so "already done" means this copy's own transaction landed but its answer
            // was lost (a storage timeout, then the retry found it recorded): hand on from the rows, or the children wait.
            if (await store.GetRunAsync(message.RunId, cancellationToken) is { } current)
            {
                await FinishHandOffAsync(current, batch, cancellationToken);
            }

            return;
        }

        // A failure from here on leaves the message on the queue: its redelivery finds the batch done and finishes the hand-off.
        foreach (var next in completion.Enqueue)
        {
            await queue.SendAsync(next, cancellationToken);
        }

        if (completion.ReadyToClose)
        {
            await closer.CloseAsync(message.RunId, cancellationToken);
        }
    }

    /// <summary>
    /// Queues again the children of a recorded batch that have neither reported nor been claimed, and closes the run if
    /// every batch has reported. A child already on the queue gets a second copy, which finds it done or claimed.
    /// </summary>
    private async Task FinishHandOffAsync(SyncRunEntity run, SyncBatchEntity batch, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var queued = 0;
        await foreach (var child in store.PendingChildBatchesAsync(run.PartitionKey, batch.BatchId, cancellationToken))
        {
            if (!child.IsClaimedAt(now))
            {
                await queue.SendAsync(new SyncBatchMessage(run.PartitionKey, child.BatchId), cancellationToken);
                queued++;
            }
        }

        if (queued > 0)
        {
            Log.ChildrenQueuedAgain(logger, run.PartitionKey, batch.BatchId, queued);
        }

        if (run.BatchesDone == run.BatchesPlanned)
        {
            await closer.CloseAsync(run.PartitionKey, cancellationToken);
        }
    }

    private Task ExecuteAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken) => item.Kind switch
    {
        SyncWorkKind.Inbound => inbound.RunAsync(item, context, cancellationToken),
        SyncWorkKind.OutboxScan => outbound.ScanAsync(item, context, cancellationToken),
        SyncWorkKind.Write => outbound.WriteAsync(item, context, cancellationToken),
        SyncWorkKind.Resolve => outbound.ResolveAsync(item, context, cancellationToken),
        SyncWorkKind.IntakeSweep => intakeSweep.RunAsync(item, context, cancellationToken),
        SyncWorkKind.Retention => retention.RunAsync(item, context, cancellationToken),
        _ => throw new InvalidOperationException($"Unknown sync work kind {item.Kind}."),
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 541, Level = LogLevel.Error, Message = "A sync batch message could not be read and was dropped; its run resumes from the batch rows")]
        public static partial void Unreadable(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 540, Level = LogLevel.Error, Message = "Sync run {RunId}: batch {BatchId} ({Kind}) failed on attempt {Attempt} and is given up")]
        public static partial void BatchAbandoned(ILogger logger, Exception exception, string runId, string batchId, string kind, long attempt);

        [LoggerMessage(EventId = 542, Level = LogLevel.Information, Message = "Sync run {RunId}: batch {BatchId} is being run by another copy of its message; this copy stands down")]
        public static partial void StoodDown(ILogger logger, string runId, string batchId);

        [LoggerMessage(EventId = 543, Level = LogLevel.Error, Message = "Sync run {RunId}: batch {BatchId} ({Kind}) exhausted its queue attempts (poison queue) and is recorded as given up")]
        public static partial void BatchPoisoned(ILogger logger, string runId, string batchId, string kind);

        [LoggerMessage(EventId = 544, Level = LogLevel.Warning, Message = "Sync run {RunId}: batch {BatchId} was recorded but {Count} of its follow-up batches never reached the queue; queued them now")]
        public static partial void ChildrenQueuedAgain(ILogger logger, string runId, string batchId, int count);
    }
}
