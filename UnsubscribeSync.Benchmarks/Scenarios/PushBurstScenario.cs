using System.Diagnostics;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>
/// Coalesced push (issue 14): a burst of queued unsubscribes drained as one instance's queue listener drains them
/// (fetch <see cref="PushScenario.HostBatchSize"/>, fetch again once <see cref="PushScenario.HostNewBatchThreshold"/>
/// or fewer are running, delete each message when its function returns), and the idle case, one message at a time,
/// against the path push had before coalescing (the link read and one <see cref="SalesforceWriter"/> call of one link).
/// </summary>
public static class PushBurstScenario
{
    public static async Task<ScenarioResult> RunBurstAsync(BenchOptions options, BenchReport report, TextWriter log, SandboxHost sandbox, CancellationToken ct)
    {
        var result = new ScenarioResult("push-burst", "2b. Push burst, coalesced");
        var started = Stopwatch.GetTimestamp();
        await sandbox.ResetAsync(ct);
        await sandbox.SetDailyLimitAsync(50_000_000, ct);
        await using var app = BenchApp.Create(options.StorageConnectionString, sandbox);
        await app.StartAsync(ct);

        var count = options.PushBurstMessages;
        var (events, _) = await QueueAsync(app, sandbox, "burst", count, ct);
        var queue = app.Clients.Queues.GetQueueClient(app.Names.PushQueue);
        var queued = (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
        report.Require(queued == count, $"push-burst: {queued} of {count} messages were queued by the intake");

        // The token and the field check are made once per process; make them before the clock starts, as a warm instance has.
        var function = ActivatorUtilities.CreateInstance<PushToSalesforce>(app.Services);
        await app.Services.GetRequiredService<IOptOutFieldResolver>().ResolveAsync(ct);
        await sandbox.SetLatencyAsync(options.PushLatencyMs, ct);

        var before = await sandbox.GetStatsAsync(ct);
        var latencies = new Latencies();
        var clock = Stopwatch.GetTimestamp();
        var failures = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var (processed, waitedForRedelivery) = await DrainAsync(queue, function, count, latencies, clock, failures, ct);
        var elapsed = Stopwatch.GetElapsedTime(clock);
        var calls = await sandbox.GetStatsAsync(ct) - before;
        await sandbox.ClearFaultsAsync(ct);

        var synced = await CountSyncedAsync(app, events, ct);
        var perUnsubscribe = calls.Total / (double)count;
        var p50 = latencies.Percentile(50);
        var p99 = latencies.Percentile(99);
        result.Add(new Figure("Salesforce calls per unsubscribe", $"{perUnsubscribe:0.000}", null, null, "at most 0.05", options.IsSmoke ? null : perUnsubscribe <= 0.05));
        result.Add(new Figure("Throughput", $"{count / elapsed.TotalSeconds:0.0} messages/s"));
        result.Add(new Figure("p50 / p99 time from enqueue to record written", $"{p50 / 1000:0.00} / {p99 / 1000:0.00} s", null, null, "p99 under 10 s",
            options.IsSmoke ? null : p99 < 10_000));
        result.Add(new Figure("Salesforce calls, all kinds", $"{calls} for {count} messages ({count / (double)Math.Max(1, calls["composite"] + calls["sobject"]):0.0} records per write call)"));
        result.Notes.Add($"{count} unsubscribes queued by the intake, then drained by PushToSalesforce.Run the way one instance's queue listener does: "
            + $"{PushScenario.HostBatchSize} messages fetched at a time, the next fetch once {PushScenario.HostNewBatchThreshold} or fewer are still running "
            + $"(host.json), each message deleted when its function returns; every Salesforce call delayed {options.PushLatencyMs} ms by the sandbox. "
            + "The burst counts as enqueued when the drain starts (the intake queued it just before; its own time is scenario 1's), so the time to "
            + "record written includes the wait in the queue behind the rest of the burst. Token and field check were made before the clock started. "
            + $"Afterwards {synced} of {count} links were Synced in the ledger."
            + (waitedForRedelivery ? $" Some messages were leased by a receive whose answer was lost (the SDK sent it again); the drain waited for their {Lease.TotalMinutes:0}-minute lease to end, as the host would, and their times include that wait." : string.Empty)
            + (failures.IsEmpty ? string.Empty : " Deliveries that threw (the host would retry them): " + string.Join("; ", failures.Select(f => $"{f.Value} × {f.Key}")) + "."));
        report.Require(processed == count, $"push-burst: {processed} of {count} messages were processed");
        report.Require(synced == count, $"push-burst: {synced} of {count} links were Synced after the burst");
        report.Require(calls["composite"] + calls["sobject"] > 0, "push-burst: no Salesforce write was made");
        log.WriteLine($"  push burst: {count / elapsed.TotalSeconds:0.0} msg/s, {perUnsubscribe:0.000} calls per unsubscribe, p50/p99 {p50:0}/{p99:0} ms, calls {calls}");
        result.Elapsed = Stopwatch.GetElapsedTime(started);
        return result;
    }

    public static async Task<ScenarioResult> RunIdleAsync(BenchOptions options, BenchReport report, TextWriter log, SandboxHost sandbox, CancellationToken ct)
    {
        var result = new ScenarioResult("push-idle", "2c. Push on an idle app, coalesced vs one-PATCH path");
        var started = Stopwatch.GetTimestamp();
        await sandbox.ResetAsync(ct);
        await sandbox.SetDailyLimitAsync(50_000_000, ct);
        await using var app = BenchApp.Create(options.StorageConnectionString, sandbox);
        await app.StartAsync(ct);

        var count = options.PushIdleMessages;
        var (events, _) = await QueueAsync(app, sandbox, "idle", 2 * count, ct);
        var queue = app.Clients.Queues.GetQueueClient(app.Names.PushQueue);
        var messages = new List<QueueMessage>();
        while (messages.Count < 2 * count)
        {
            QueueMessage[] received = await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(30), ct);
            if (received.Length == 0)
            {
                break;
            }

            messages.AddRange(received);
        }

        report.Require(messages.Count == 2 * count, $"push-idle: {messages.Count} of {2 * count} messages were queued by the intake");
        var function = ActivatorUtilities.CreateInstance<PushToSalesforce>(app.Services);
        var ledger = app.Services.GetRequiredService<ILedgerStore>();
        var writer = app.Services.GetRequiredService<SalesforceWriter>();
        await app.Services.GetRequiredService<IOptOutFieldResolver>().ResolveAsync(ct);
        await sandbox.SetLatencyAsync(options.PushLatencyMs, ct);

        // One message at a time, the two paths alternating message by message so machine noise falls on both alike.
        var before = await sandbox.GetStatsAsync(ct);
        var coalesced = new Latencies();
        var onePatch = new Latencies();
        for (var i = 0; i < count; i++)
        {
            var begin = Stopwatch.GetTimestamp();
            await function.Run(messages[2 * i], ct);
            coalesced.Add(begin);

            begin = Stopwatch.GetTimestamp();
            await OnePatchPushAsync(ledger, writer, messages[(2 * i) + 1].MessageText, ct);
            onePatch.Add(begin);
        }

        var calls = await sandbox.GetStatsAsync(ct) - before;
        await sandbox.ClearFaultsAsync(ct);
        var synced = await CountSyncedAsync(app, events, ct);

        var ratio = coalesced.Percentile(50) / onePatch.Percentile(50);
        result.Add(new Figure("p50 / p99 time per message", $"{coalesced.Percentile(50):0} / {coalesced.Percentile(99):0} ms",
            $"{onePatch.Percentile(50):0} / {onePatch.Percentile(99):0} ms (one-PATCH path)", $"{ratio:0.00}x", "no slower (p50 within 10 %)", options.IsSmoke ? null : ratio <= 1.10));
        result.Add(new Figure("Salesforce calls, all kinds", $"{calls} for {2 * count} messages (half each path)", $"{2 * count} PATCHes"));
        result.Notes.Add($"{2 * count} unsubscribes queued by the intake; then, one message at a time (nothing else in flight), PushToSalesforce.Run and the "
            + "path push had before coalescing (read the link, one SalesforceWriter call for that one link) alternate message by message, "
            + $"every Salesforce call delayed {options.PushLatencyMs} ms by the sandbox. Both make one PATCH per message. Afterwards {synced} of {2 * count} links were Synced.");
        report.Require(calls["sobject"] == 2 * count && calls["composite"] == 0, $"push-idle: {calls} for {2 * count} idle messages, expected one PATCH each");
        report.Require(synced == 2 * count, $"push-idle: {synced} of {2 * count} links were Synced");
        log.WriteLine($"  push idle: p50 {coalesced.Percentile(50):0} ms coalesced vs {onePatch.Percentile(50):0} ms one-PATCH path, calls {calls}");
        result.Elapsed = Stopwatch.GetElapsedTime(started);
        return result;
    }

    /// <summary>What push did with a message before coalescing: read its link and write it as a batch of one.</summary>
    private static async Task OnePatchPushAsync(ILedgerStore ledger, SalesforceWriter writer, string messageText, CancellationToken ct)
    {
        var message = PushMessage.FromJson(messageText);
        var link = await ledger.GetLinkAsync(message.EmailKey, message.SalesforceId, ct);
        if (link is { IsOwed: true })
        {
            await writer.WriteAsync([link], new WriteOptions("push"), new UrgentWriteBudget(), ct);
        }
    }

    // Far above one message's run time (seconds), short enough that a message leased by a lost receive comes back in the run.
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan MaxDrain = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The host's queue listener for one instance: fetch a batch, run each message, fetch again once few enough are still
    /// running, delete each message when its function returns. Returns how many were processed and whether it waited for a lost receive's lease.
    /// </summary>
    private static async Task<(int Processed, bool WaitedForRedelivery)> DrainAsync(
        QueueClient queue, PushToSalesforce function, int count, Latencies latencies, long clock, System.Collections.Concurrent.ConcurrentDictionary<string, int> failures, CancellationToken ct)
    {
        var running = 0;
        var processed = 0;
        var failed = 0;
        var waitedForRedelivery = false;
        using var finished = new SemaphoreSlim(0);
        var tasks = new List<Task>();
        while (Volatile.Read(ref processed) + Volatile.Read(ref failed) < count)
        {
            if (Volatile.Read(ref running) > PushScenario.HostNewBatchThreshold)
            {
                await finished.WaitAsync(ct);
                continue;
            }

            QueueMessage[] received = await queue.ReceiveMessagesAsync(PushScenario.HostBatchSize, Lease, ct);
            if (received.Length == 0)
            {
                if (Volatile.Read(ref running) == 0)
                {
                    // Nothing visible and nothing running, yet messages are left: a receive whose answer was lost (the SDK
                    // retried it) leased them to no one. The host gets them back when the lease ends, and so does this.
                    if ((await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount > 0 && Stopwatch.GetElapsedTime(clock) < MaxDrain)
                    {
                        waitedForRedelivery = true;
                        await Task.Delay(TimeSpan.FromSeconds(5), ct);
                        continue;
                    }

                    break;
                }

                await finished.WaitAsync(ct);
                continue;
            }

            foreach (var message in received)
            {
                Interlocked.Increment(ref running);
                tasks.Add(Task.Run(
                    async () =>
                    {
                        try
                        {
                            await function.Run(message, ct);
                            latencies.Add(clock);
                            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                            Interlocked.Increment(ref processed);
                        }
                        catch (Exception ex) when (!ct.IsCancellationRequested)
                        {
                            // The host would retry it after visibilityTimeout; the run counts it and reports why.
                            failures.AddOrUpdate(ex.GetType().Name + ": " + ex.Message.Split('\n')[0][..Math.Min(120, ex.Message.Split('\n')[0].Length)], 1, (_, n) => n + 1);
                            Interlocked.Increment(ref failed);
                        }
                        finally
                        {
                            Interlocked.Decrement(ref running);
                            finished.Release();
                        }
                    },
                    ct));
            }
        }

        await Task.WhenAll(tasks);
        return (processed, waitedForRedelivery);
    }

    private static async Task<(List<ConsentEvent> Events, IReadOnlyList<string> Ids)> QueueAsync(BenchApp app, SandboxHost sandbox, string name, int count, CancellationToken ct)
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var seeds = Enumerable.Range(0, count).Select(i => new SeedRecord(i % 2 == 0 ? "Contact" : "Lead", $"{name}{i}.{tag}@bench.example", false)).ToList();
        var ids = await sandbox.CreateRecordsAsync(seeds, ct);
        var intake = app.Services.GetRequiredService<IIntakeService>();
        var receivedAt = DateTimeOffset.UtcNow;
        var events = ids.Select((id, i) =>
        {
            EmailAddress.TryCreate(seeds[i].Email, out var address, out _);
            return new ConsentEvent($"{name}-{tag}-{i}", ConsentEventType.Unsubscribe, address!, SalesforceId.Parse(id), receivedAt.AddSeconds(-60), receivedAt, "link", null);
        }).ToList();
        foreach (var chunk in events.Chunk(100))
        {
            await intake.AcceptAsync(chunk, ct);
        }

        return (events, ids);
    }

    private static async Task<int> CountSyncedAsync(BenchApp app, List<ConsentEvent> events, CancellationToken ct)
    {
        var ledger = app.Services.GetRequiredService<ILedgerStore>();
        var synced = 0;
        await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (e, token) =>
        {
            var entry = await ledger.GetAsync(e.Email.Key, token);
            Interlocked.Add(ref synced, entry?.Links.Count(l => l.Status == LinkStatus.Synced) ?? 0);
        });
        return synced;
    }
}
