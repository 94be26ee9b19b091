using System.Diagnostics;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>
/// Push: <see cref="PushToSalesforce.Run"/> over queued unsubscribes against the sandbox with latency
/// injected on every Salesforce call, at the concurrency one Functions instance uses (host.json
/// batchSize 32 + newBatchThreshold 16 = 48). Floor: one bare PATCH per record through the same
/// Salesforce client at the same concurrency and latency. Then a burst drained as the host's queue
/// listener would (coalesced calls), and the idle case against the one-PATCH path push had before.
/// </summary>
public sealed class PushScenario(BenchOptions options, BenchReport report, TextWriter log, SandboxHost sandbox)
{
    /// <summary>host.json <c>extensions.queues.batchSize</c>.</summary>
    public const int HostBatchSize = 32;

    /// <summary>host.json <c>extensions.queues.newBatchThreshold</c>.</summary>
    public const int HostNewBatchThreshold = 16;

    public const int InstanceConcurrency = HostBatchSize + HostNewBatchThreshold;

    public async Task<IReadOnlyList<ScenarioResult>> RunAsync(CancellationToken ct) =>
        [await RunConcurrentAsync(ct), await PushBurstScenario.RunBurstAsync(options, report, log, sandbox, ct), await PushBurstScenario.RunIdleAsync(options, report, log, sandbox, ct)];

    private async Task<ScenarioResult> RunConcurrentAsync(CancellationToken ct)
    {
        var result = new ScenarioResult("push", "2. Push to Salesforce");
        var started = Stopwatch.GetTimestamp();
        await sandbox.ResetAsync(ct);
        await sandbox.SetDailyLimitAsync(50_000_000, ct);
        await using var app = BenchApp.Create(options.StorageConnectionString, sandbox);
        await app.StartAsync(ct);

        var count = options.PushMessages;
        var tag = Guid.NewGuid().ToString("N")[..6];
        var seeds = Enumerable.Range(0, 2 * count).Select(i => new SeedRecord(i % 2 == 0 ? "Contact" : "Lead", $"push{i}.{tag}@bench.example", false)).ToList();
        var ids = await sandbox.CreateRecordsAsync(seeds, ct);
        var pushIds = ids.Take(count).ToList();
        var floorIds = ids.Skip(count).ToList();

        // Unsubscribes arrive through the intake, which fills the ledger and the push queue as in production.
        var intake = app.Services.GetRequiredService<IIntakeService>();
        var receivedAt = DateTimeOffset.UtcNow;
        var events = pushIds.Select((id, i) =>
        {
            EmailAddress.TryCreate(seeds[i].Email, out var address, out _);
            return new ConsentEvent($"push-{tag}-{i}", ConsentEventType.Unsubscribe, address!, SalesforceId.Parse(id), receivedAt.AddSeconds(-60), receivedAt, "link", null);
        }).ToList();
        foreach (var chunk in events.Chunk(100))
        {
            await intake.AcceptAsync(chunk, ct);
        }

        var queue = app.Clients.Queues.GetQueueClient(app.Names.PushQueue);
        var messages = new List<QueueMessage>();
        while (messages.Count < count)
        {
            QueueMessage[] received = await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(30), ct);
            if (received.Length == 0)
            {
                break;
            }

            messages.AddRange(received);
        }

        report.Require(messages.Count == count, $"push: {messages.Count} of {count} messages were queued by the intake");

        var function = ActivatorUtilities.CreateInstance<PushToSalesforce>(app.Services);
        var client = app.Services.GetRequiredService<ISalesforceClient>();
        await sandbox.SetLatencyAsync(options.PushLatencyMs, ct);

        // Push: the function over every message.
        var before = await sandbox.GetStatsAsync(ct);
        var storageBefore = app.StorageRequests.Count;
        var latencies = new Latencies();
        var clock = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = InstanceConcurrency, CancellationToken = ct }, async (message, token) =>
        {
            var begin = Stopwatch.GetTimestamp();
            await function.Run(message, token);
            latencies.Add(begin);
        });
        var pushElapsed = Stopwatch.GetElapsedTime(clock);
        var pushCalls = await sandbox.GetStatsAsync(ct) - before;
        var storagePerMessage = (app.StorageRequests.Count - storageBefore) / (double)count;

        // Floor: one PATCH per record, nothing else, same client, concurrency and latency.
        before = await sandbox.GetStatsAsync(ct);
        var floorLatencies = new Latencies();
        clock = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(floorIds, new ParallelOptions { MaxDegreeOfParallelism = InstanceConcurrency, CancellationToken = ct }, async (id, token) =>
        {
            var begin = Stopwatch.GetTimestamp();
            await client.UpdateRecordAsync(SalesforceId.Parse(id), new Dictionary<string, object?> { ["HasOptedOutOfEmail"] = true }, token);
            floorLatencies.Add(begin);
        });
        var floorElapsed = Stopwatch.GetElapsedTime(clock);
        var floorCalls = await sandbox.GetStatsAsync(ct) - before;
        await sandbox.ClearFaultsAsync(ct);

        // Every pushed record must now be opted out in the ledger's eyes.
        var ledger = app.Services.GetRequiredService<ILedgerStore>();
        var synced = 0;
        foreach (var e in events)
        {
            var entry = await ledger.GetAsync(e.Email.Key, ct);
            synced += entry?.Links.Count(l => l.Status == LinkStatus.Synced) ?? 0;
        }

        var rate = count / pushElapsed.TotalSeconds;
        var floorRate = count / floorElapsed.TotalSeconds;
        var writesPerMessage = (pushCalls["sobject"] + pushCalls["composite"]) / (double)count;
        var amortized = pushCalls.Total - pushCalls["sobject"] - pushCalls["composite"];
        result.Add(new Figure("Throughput", $"{rate:0.0} messages/s", $"{floorRate:0.0} messages/s", $"{floorRate / rate:0.00}x"));
        result.Add(new Figure("p50 / p99 latency per message", $"{latencies.Percentile(50):0} / {latencies.Percentile(99):0} ms",
            $"{floorLatencies.Percentile(50):0} / {floorLatencies.Percentile(99):0} ms", $"{latencies.Percentile(50) / floorLatencies.Percentile(50):0.00}x"));
        result.Add(new Figure("Salesforce writes per unsubscribe", $"{writesPerMessage:0.00}", "1.00", $"{writesPerMessage:0.00}x",
            "at most 1 (pushes in flight share calls)", options.IsSmoke ? null : writesPerMessage <= 1.0 + 1e-9));
        result.Add(new Figure("Other Salesforce calls (token, describe, …) for the whole run", $"{amortized} ({amortized / (double)count:0.000} per message)", "token 1",
            null, "a constant, not per message", options.IsSmoke ? null : amortized <= 5));
        result.Add(new Figure("Storage requests per message (ledger, audit)", $"{storagePerMessage:0.00}", "0"));
        result.Add(new Figure("Salesforce calls, all kinds", $"{pushCalls} for {count} messages", $"{floorCalls} for {count} PATCHes"));
        result.Notes.Add($"{count} unsubscribes queued by the intake, then PushToSalesforce.Run called for each with {InstanceConcurrency} in flight "
            + $"(one instance: host.json batchSize {HostBatchSize} + newBatchThreshold {HostNewBatchThreshold}); every Salesforce call delayed {options.PushLatencyMs} ms by the sandbox. "
            + "The pushes in flight share calls (PushCoalescer), so there are fewer writes than messages; the floor makes only one bare Salesforce PATCH per record; the push also reads the ledger and records the outcome in the ledger and the audit (Azurite on the same 2 cores), which is most of the gap. "
            + $"Queue receive and delete are the host's work and are not timed. Afterwards {synced} of {count} links were Synced in the ledger.");
        report.Require(synced == count, $"push: {synced} of {count} links were Synced after the push");
        report.Require(writesPerMessage > 0 && writesPerMessage <= 1 + 1e-9, $"push: {writesPerMessage:0.00} writes per message is not between 0 and 1");
        report.Require(rate > 0 && double.IsFinite(rate), "push: no messages processed");
        log.WriteLine($"  push: {rate:0.0} msg/s (floor {floorRate:0.0}), calls {pushCalls}");
        result.Elapsed = Stopwatch.GetElapsedTime(started);
        return result;
    }
}
