using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>Runs the app's nightly sync to completion: the planner, then every batch it queued.</summary>
public interface ISyncDriver
{
    /// <summary>False until the sync exists in the app; the scenario then reports it as not measured.</summary>
    bool IsWired { get; }

    /// <summary>Runs one full sync (plan + drain <c>sync-batches</c>) and returns what it says it did.</summary>
    Task<string> RunAsync(BenchApp app, CancellationToken cancellationToken);
}

/// <summary>Placeholder until <c>NightlySync</c> and <c>RunSyncBatch</c> land.</summary>
public sealed class NotWiredSyncDriver : ISyncDriver
{
    public bool IsWired => false;

    public Task<string> RunAsync(BenchApp app, CancellationToken cancellationToken) => throw new NotSupportedException("The nightly sync is not in the app yet.");
}

/// <summary>
/// Nightly sync at scale, its floors, and the naive one-PATCH-per-record baseline, on one data set:
/// N ledger entries and N Salesforce records with 1 % drift each way (<see cref="SyncDataSet"/>).
/// </summary>
public sealed class SyncScenario(BenchOptions options, BenchReport report, TextWriter log, SandboxHost sandbox, ISyncDriver driver)
{
    public const double CallTarget = 1.1;
    public const long MemoryTargetBytes = 300L * 1024 * 1024;
    public const int IncrementalCallTarget = 10;

    private const string OptOutField = "HasOptedOutOfEmail";

    // The first sync run's calls, for the naive baseline's comparison.
    private ApiCalls? _syncCalls;

    /// <summary>Runs the scenario; <paramref name="withBaseline"/> adds the naive baseline (scenario 4) as a second result.</summary>
    public async Task<IReadOnlyList<ScenarioResult>> RunAsync(int entries, string key, string title, bool withBaseline, CancellationToken ct)
    {
        var result = new ScenarioResult(key, title);
        var started = Stopwatch.GetTimestamp();
        await sandbox.ResetAsync(ct);
        await sandbox.SetDailyLimitAsync(50_000_000, ct);

        // An org without Person Accounts, as when issue 14 measured 10 calls (no Account query to add to the floor).
        await sandbox.SetPersonAccountsAsync(false, ct);
        await using var app = BenchApp.Create(options.StorageConnectionString, sandbox);
        await app.StartAsync(ct);

        // Seed: measured separately, never part of a figure with a target.
        var data = SyncDataSet.Create(entries, options.DriftShare, options.IncrementalShare);
        var seedSalesforce = await data.SeedSalesforceAsync(sandbox, ct);
        var ledgerTable = app.Clients.Tables.GetTableClient(app.Names.LedgerTable);
        var seedLedger = await data.SeedLedgerAsync(ledgerTable, options.SeedConcurrency, log, ct);
        result.Add(new Figure("Seed: Salesforce records (one control call per 100,000)", $"{entries:N0} in {seedSalesforce.TotalSeconds:0.0} s"));
        result.Add(new Figure($"Seed: ledger entries (one transaction per address, {options.SeedConcurrency} in flight)",
            $"{entries:N0} in {seedLedger.TotalSeconds:0.0} s ({entries / seedLedger.TotalSeconds:0} entries/s)"));
        log.WriteLine($"  {key}: seeded {entries:N0} records in {seedSalesforce.TotalSeconds:0.0} s and ledger entries in {seedLedger.TotalSeconds:0.0} s");
        report.Require(seedLedger > TimeSpan.Zero && seedSalesforce > TimeSpan.Zero, $"{key}: seeding took no time");

        var contacts = data.People.Count(p => p.Type == "Contact");
        var leads = entries - contacts;
        var coldFloor = SyncDataSet.CallFloor(contacts, leads, data.Drift);
        result.Notes.Add($"Data: {entries:N0} ledger entries (state + one link each) and {entries:N0} Salesforce records ({contacts:N0} Contacts, {leads:N0} Leads). "
            + $"Drift: {data.Drift:N0} opt-outs in the ledger not yet in Salesforce, {data.Drift:N0} opt-outs made in Salesforce not yet in the ledger. "
            + $"Call floor of a first run (no watermark, so every record is read): ceil({contacts:N0}/2000) + ceil({leads:N0}/2000) query pages "
            + $"+ ceil({data.Drift:N0}/200) collection calls = {coldFloor}, plus token calls.");

        if (driver.IsWired)
        {
            await MeasureSyncAsync(result, app, data, coldFloor, ct);
        }
        else
        {
            result.Status = ScenarioStatus.NotMeasuredYet;
            result.Add(new Figure("Nightly sync: wall time, peak memory, calls by kind", "not measured yet", $"{coldFloor} calls", null,
                $"calls ≤ {CallTarget}x floor; peak < 300 MB; incremental < {IncrementalCallTarget} calls"));
            result.Notes.Add("The nightly sync (NightlySync + RunSyncBatch) is not in the app yet, so it is not measured. The seeding and the floors below are.");
        }

        // The bare-client floor, executed: every record read in 2,000-row pages, every drifted record written in collections of 200.
        var client = app.Services.GetRequiredService<ISalesforceClient>();
        var before = await sandbox.GetStatsAsync(ct);
        GC.Collect();
        var probe = MemoryProbe.Start();
        var clock = Stopwatch.GetTimestamp();
        var read = 0;
        foreach (var type in new[] { "Contact", "Lead" })
        {
            await foreach (var row in client.QueryAsync<OptOutRow>($"SELECT Id, Email, {OptOutField}, SystemModstamp FROM {type}", ct))
            {
                read += row.Id is null ? 0 : 1;
            }
        }

        var toWrite = data.In(SeedCategory.LedgerAhead).Select(SyncDataSet.IdOf).ToList();
        var written = 0;
        foreach (var chunk in toWrite.Chunk(200))
        {
            var saved = await client.UpdateRecordsAsync(chunk.Select(id => new SalesforceRecordUpdate(id, new Dictionary<string, object?> { [OptOutField] = true })).ToList(), ct);
            written += saved.Count(r => r.Success);
        }

        var floorElapsed = Stopwatch.GetElapsedTime(clock);
        var floorMemory = await probe.StopAsync();
        var floorCalls = await sandbox.GetStatsAsync(ct) - before;
        result.Add(new Figure("Bare-client floor: read every record, write the drift", $"{floorElapsed.TotalSeconds:0.00} s, {floorCalls}",
            $"{coldFloor} calls + token", $"{(floorCalls.Total - floorCalls["token"]) / (double)coldFloor:0.00}x"));
        result.Add(new Figure("Bare-client floor: peak memory (working set / managed)", $"{MemoryReading.Mb(floorMemory.PeakWorkingSetBytes)} / {MemoryReading.Mb(floorMemory.PeakManagedBytes)}"));
        report.Require(read == entries, $"{key}: the floor read {read} of {entries} records");
        report.Require(written == toWrite.Count, $"{key}: the floor wrote {written} of {toWrite.Count} records");
        report.Require(floorCalls["query"] == SyncDataSet.Pages(contacts, 2000) + SyncDataSet.Pages(leads, 2000),
            $"{key}: the floor made {floorCalls["query"]} query calls, expected {SyncDataSet.Pages(contacts, 2000) + SyncDataSet.Pages(leads, 2000)}");
        log.WriteLine($"  {key}: floor {floorElapsed.TotalSeconds:0.00} s, {floorCalls}");

        result.Elapsed = Stopwatch.GetElapsedTime(started);
        var results = new List<ScenarioResult> { result };
        if (withBaseline)
        {
            results.Add(await RunNaiveBaselineAsync(client, data, floorCalls, ct));
        }

        return results;
    }

    private async Task MeasureSyncAsync(ScenarioResult result, BenchApp app, SyncDataSet data, int coldFloor, CancellationToken ct)
    {
        // The previous night (or push during the day) left the field check's describes in the SyncState table: another
        // resolver over the same storage, as another process, keeps them. Its calls are what a first run spends on top.
        var warm = await SyncCurveScenario.WarmFieldCheckAsync(app, sandbox, options, report, ct);
        result.Add(new Figure("Field check of a first run (or the run after its kept describes are a day old), on top of the run below", warm.ToString()));

        var before = await sandbox.GetStatsAsync(ct);
        GC.Collect();
        var probe = MemoryProbe.Start();
        var clock = Stopwatch.GetTimestamp();
        var summary = await driver.RunAsync(app, ct);
        var elapsed = Stopwatch.GetElapsedTime(clock);
        var memory = await probe.StopAsync();
        var calls = await sandbox.GetStatsAsync(ct) - before;
        var nonToken = calls.Total - calls["token"];
        _syncCalls = calls;
        result.Add(new Figure("Nightly sync: wall time", $"{elapsed.TotalSeconds:0.0} s"));
        var perRecord = nonToken - calls["describe"];
        result.Add(new Figure("Nightly sync: calls that scale with records (query + writes)", $"{perRecord}", $"{coldFloor}", $"{perRecord / (double)coldFloor:0.00}x"));
        result.Add(new Figure("Nightly sync: Salesforce calls", calls.ToString(), $"{coldFloor} + token", $"{nonToken / (double)coldFloor:0.00}x",
            $"≤ {CallTarget}x floor", options.IsSmoke ? null : nonToken <= CallTarget * coldFloor));
        result.Add(new Figure("Nightly sync: peak memory (working set; managed; GC heap)",
            $"{MemoryReading.Mb(memory.PeakWorkingSetBytes)}; {MemoryReading.Mb(memory.PeakManagedBytes)}; {MemoryReading.Mb(memory.PeakGcHeapBytes)}",
            null, null, "< 300 MB", options.IsSmoke ? null : memory.PeakWorkingSetBytes < MemoryTargetBytes));
        result.Notes.Add($"Sync run: {summary}. Memory is this process's {(memory.FromKernelHighWaterMark ? "kernel high-water mark (VmHWM, reset at the start of the run)" : "highest sampled working set")}"
            + (sandbox.IsInProcess ? "; the sandbox ran in this process, so its records are included." : "; the sandbox ran in its own process."));
        report.Require(calls.Total > 0, $"{result.Key}: the sync made no Salesforce calls");
        await VerifyAsync(result, app, data, ct);

        var (optedOut, unchecked_) = await data.ApplyIncrementalChangesAsync(sandbox, ct);
        before = await sandbox.GetStatsAsync(ct);
        clock = Stopwatch.GetTimestamp();
        summary = await driver.RunAsync(app, ct);
        elapsed = Stopwatch.GetElapsedTime(clock);
        calls = await sandbox.GetStatsAsync(ct) - before;
        var changed = optedOut + unchecked_;
        var incrementalFloor = SyncDataSet.Pages(changed, 2000) * 2 + SyncDataSet.Pages(unchecked_, 200);
        result.Add(new Figure($"Incremental run ({changed} changes, {options.IncrementalShare:P1})", $"{calls}, {elapsed.TotalSeconds:0.0} s",
            $"{incrementalFloor} + token", null, $"< {IncrementalCallTarget} calls", options.IsSmoke ? null : calls.Total < IncrementalCallTarget));
        result.Notes.Add($"Incremental run: {optedOut} records opted out and {unchecked_} un-checked in Salesforce by an admin (the Reassert policy writes those back). {summary}.");
    }

    /// <summary>Checks a sample of each drift direction: the first run must have fixed it.</summary>
    private async Task VerifyAsync(ScenarioResult result, BenchApp app, SyncDataSet data, CancellationToken ct)
    {
        var ledger = app.Services.GetRequiredService<Functions.Ledger.ILedgerStore>();
        var written = data.In(SeedCategory.LedgerAhead).Take(50).ToList();
        var imported = data.In(SeedCategory.SalesforceAhead).Take(50).ToList();
        var writtenOk = 0;
        foreach (var person in written)
        {
            writtenOk += await sandbox.IsOptedOutAsync(person.SalesforceId, ct) ? 1 : 0;
        }

        var importedOk = 0;
        foreach (var person in imported)
        {
            Functions.Shared.EmailAddress.TryCreate(person.Email, out var address, out _);
            var entry = await ledger.GetAsync(address!.Key, ct);
            importedOk += entry?.State.ConsentState == Functions.Ledger.ConsentState.Unsubscribed ? 1 : 0;
        }

        result.Notes.Add($"Checked after the first run: {writtenOk} of {written.Count} sampled ledger-ahead records are opted out in Salesforce, "
            + $"{importedOk} of {imported.Count} sampled Salesforce-ahead addresses are unsubscribed in the ledger.");
        report.Require(writtenOk == written.Count, $"{result.Key}: only {writtenOk} of {written.Count} sampled ledger opt-outs reached Salesforce");
        report.Require(importedOk == imported.Count, $"{result.Key}: only {importedOk} of {imported.Count} sampled Salesforce opt-outs reached the ledger");
    }

    private async Task<ScenarioResult> RunNaiveBaselineAsync(ISalesforceClient client, SyncDataSet data, ApiCalls floorCalls, CancellationToken ct)
    {
        var result = new ScenarioResult("naive", "4. Naive baseline: one PATCH per record");
        var started = Stopwatch.GetTimestamp();
        var drifted = data.In(SeedCategory.LedgerAhead).Select(SyncDataSet.IdOf).ToList();
        var before = await sandbox.GetStatsAsync(ct);
        foreach (var id in drifted)
        {
            await client.UpdateRecordAsync(id, new Dictionary<string, object?> { [OptOutField] = true }, ct);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var calls = await sandbox.GetStatsAsync(ct) - before;
        var collectionWrites = SyncDataSet.Pages(drifted.Count, 200);
        var reads = floorCalls["query"];
        result.Add(new Figure($"Writes for {drifted.Count:N0} drifted records", $"{calls["sobject"]:N0} PATCH calls in {elapsed.TotalSeconds:0.0} s",
            $"{collectionWrites} collection calls", $"{calls["sobject"] / (double)collectionWrites:0}x"));
        result.Add(new Figure("Whole run (same reads)", $"{reads + calls["sobject"]:N0} calls", $"{reads + collectionWrites} calls",
            $"{(reads + calls["sobject"]) / (double)(reads + collectionWrites):0.0}x"));
        if (_syncCalls is { } sync)
        {
            result.Add(new Figure("Whole run against the nightly sync's first run", $"{reads + calls["sobject"]:N0} calls", $"sync: {sync.Total - sync["token"]} calls (token excluded)",
                $"{(reads + calls["sobject"]) / (double)(sync.Total - sync["token"]):0.0}x"));
            result.Add(new Figure("Writes against the nightly sync's", $"{calls["sobject"]:N0} PATCH calls", $"sync: {sync["composite"] + sync["sobject"]} write calls",
                $"{calls["sobject"] / (double)Math.Max(1, sync["composite"] + sync["sobject"]):0.0}x"));
        }

        result.Notes.Add("Run against the sandbox with no injected latency, one PATCH /sobjects/{type}/{id} after another, as a client without sObject Collections would. "
            + "The comparison is with the collections floor measured above (the sync's own calls when it is wired are in scenario 3).");
        report.Require(calls["sobject"] == drifted.Count, $"naive: {calls["sobject"]} PATCH calls for {drifted.Count} records");
        result.Elapsed = elapsed;
        return result;
    }

    /// <summary>The fields the floor's query reads (what a sync must read to compare).</summary>
    internal sealed class OptOutRow
    {
        public string? Id { get; set; }

        public string? Email { get; set; }

        public bool HasOptedOutOfEmail { get; set; }

        public DateTimeOffset? SystemModstamp { get; set; }
    }
}
