using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>Picks the sync driver: the app's NightlySync + RunSyncBatch functions.</summary>
public static class SyncDrivers
{
    public static ISyncDriver Create() => new FunctionSyncDriver();
}

/// <summary>
/// Runs a nightly sync as the Functions host would: one <see cref="NightlySync"/> tick, then every
/// message of the <c>sync-batches</c> queue through <see cref="RunSyncBatch"/> (12 at a time, as one
/// instance does with host.json batchSize 8 + newBatchThreshold 4), including the batches that batches
/// queue, until the queue is empty. Queue receive and delete are the host's work.
/// </summary>
public sealed class FunctionSyncDriver : ISyncDriver
{
    private const int InstanceConcurrency = 12;

    public bool IsWired => true;

    public async Task<string> RunAsync(BenchApp app, CancellationToken cancellationToken)
    {
        var timer = ActivatorUtilities.CreateInstance<NightlySync>(app.Services);
        var worker = ActivatorUtilities.CreateInstance<RunSyncBatch>(app.Services);
        var queue = app.Clients.Queues.GetQueueClient(app.Names.SyncBatchQueue);

        await timer.Run(new TimerInfo(), cancellationToken);
        var batches = 0;
        while (true)
        {
            QueueMessage[] messages = await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(10), cancellationToken);
            if (messages.Length == 0)
            {
                break;
            }

            await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = InstanceConcurrency, CancellationToken = cancellationToken }, async (message, ct) =>
            {
                await worker.Run(message, ct);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                Interlocked.Increment(ref batches);
            });
        }

        // The closer releases the lease, so the run is found as the newest one.
        var store = app.Services.GetRequiredService<SyncRunStore>();
        var run = (await store.ListRunsAsync(cancellationToken)).FirstOrDefault();
        if (run is null || run.SyncPhase != SyncPhase.Completed)
        {
            throw new InvalidOperationException($"The sync run {run?.PartitionKey} did not complete after {batches} batches (phase {run?.Phase}).");
        }

        return $"{run.Mode} run, {batches} batches, counters {run.ReportJson}";
    }
}
