using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>One measured run of the curve.</summary>
public sealed record CurvePoint(
    int LedgerEntries,
    int SalesforceRecords,
    string Run,
    ApiCalls Calls,
    int Floor,
    IReadOnlyDictionary<string, long> StorageByKind,
    TimeSpan Wall,
    TimeSpan SalesforceTime,
    TimeSpan StorageTime,
    MemoryReading Memory)
{
    public long StorageRequests => StorageByKind.Values.Sum();

    public int NonTokenCalls => Calls.Total - Calls["token"];
}

/// <summary>
/// Issue 14 part 3: the nightly sync's cost at growing sizes, each on fresh tables and a reset sandbox (an org without
/// Person Accounts, as in scenario 3): a full run and an incremental run per size, and an org far larger than the ledger.
/// The field check is warmed first by another resolver over the same storage, as the previous night leaves it, so the
/// runs show the steady state; what the warm-up spent is the cost of a first run (or of the run after the kept describes
/// are a day old). Per run: Salesforce calls by kind against the floor, storage requests per ledger entry by kind, peak
/// memory, and wall time next to the summed time of Salesforce and storage requests.
/// </summary>
public sealed class SyncCurveScenario(BenchOptions options, BenchReport report, TextWriter log, SandboxHost sandbox, ISyncDriver driver)
{
    private static readonly string[] StorageKinds =
        ["table point read", "table query", "table write", "table batch", "queue send", "queue receive", "queue delete", "queue update", "other"];

    public async Task<ScenarioResult> RunAsync(CancellationToken ct)
    {
        var result = new ScenarioResult("curve", "5. Sync cost curve");
        var started = Stopwatch.GetTimestamp();
        var points = new List<CurvePoint>();
        var coldDescribes = new List<string>();
        foreach (var (ledger, salesforce) in options.CurveSizes.Select(n => (n, n)).Append((options.CurveWideLedger, options.CurveWideSalesforce)))
        {
            var (measured, cold) = await MeasureAsync(ledger, salesforce, ct);
            points.AddRange(measured);
            coldDescribes.Add($"{ledger:N0}: {cold}");
        }

        foreach (var p in points)
        {
            result.Add(new Figure($"{p.LedgerEntries:N0} entries / {p.SalesforceRecords:N0} records, {p.Run}: Salesforce calls", p.Calls.ToString(),
                $"{p.Floor} + token", $"{p.NonTokenCalls / (double)p.Floor:0.00}x"));
        }

        result.Notes.Add(CallsTable(points));
        result.Notes.Add(StorageTable(points));
        result.Notes.Add(Flatness(points));
        result.Notes.Add("The field check before each size's runs (another resolver over the same storage, as the previous night leaves it; "
            + $"this is what a first run, or the run after the kept describes are a day old, spends on top): {string.Join("; ", coldDescribes)}.");
        result.Notes.Add("Each size runs on its own tables and a reset sandbox with 1 % drift each way and 0.1 % changes before the incremental run, "
            + "driven as in scenario 3 (12 batches in flight). Salesforce and storage time are summed over concurrent requests, so together they exceed "
            + "the wall time; wall times are from a shared 2-core machine with Azurite and the sandbox on it, and say nothing about Azure.");
        result.Elapsed = Stopwatch.GetElapsedTime(started);
        return result;
    }

    private async Task<(IReadOnlyList<CurvePoint> Points, string ColdCalls)> MeasureAsync(int ledgerEntries, int salesforceRecords, CancellationToken ct)
    {
        await sandbox.ResetAsync(ct);
        await sandbox.SetDailyLimitAsync(50_000_000, ct);
        await sandbox.SetPersonAccountsAsync(false, ct);
        var timer = new SalesforceTimer();
        await using var app = BenchApp.Create(options.StorageConnectionString, sandbox,
            configureServices: s => s.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(timer.CreateHandler)));
        await app.StartAsync(ct);

        var data = SyncDataSet.Create(ledgerEntries, options.DriftShare, options.IncrementalShare);
        await data.SeedSalesforceAsync(sandbox, ct);
        await data.SeedSalesforceOnlyAsync(sandbox, salesforceRecords - ledgerEntries, ct);
        var seeded = await data.SeedLedgerAsync(app.Clients.Tables.GetTableClient(app.Names.LedgerTable), options.SeedConcurrency, log, ct);
        log.WriteLine($"  curve {ledgerEntries:N0}/{salesforceRecords:N0}: seeded the ledger in {seeded.TotalSeconds:0} s");

        var cold = (await WarmFieldCheckAsync(app, sandbox, options, report, ct)).ToString();
        var contacts = data.People.Count(p => p.Type == "Contact") + ((salesforceRecords - ledgerEntries + 1) / 2);
        var leads = salesforceRecords - contacts;
        var full = await RunOnceAsync(app, timer, ledgerEntries, salesforceRecords, "full", SyncDataSet.CallFloor(contacts, leads, data.Drift), ct);
        report.Require(full.Calls["query"] >= SyncDataSet.Pages(contacts, 2000) + SyncDataSet.Pages(leads, 2000), $"curve {ledgerEntries}: the full run read too few pages ({full.Calls})");

        var (optedOut, unchecked_) = await data.ApplyIncrementalChangesAsync(sandbox, ct);
        var changed = optedOut + unchecked_;
        var incremental = await RunOnceAsync(app, timer, ledgerEntries, salesforceRecords, "incremental",
            (SyncDataSet.Pages(changed, 2000) * 2) + SyncDataSet.Pages(unchecked_, 200), ct);
        log.WriteLine($"  curve {ledgerEntries:N0}/{salesforceRecords:N0}: full {full.Calls} in {full.Wall.TotalSeconds:0.0} s, incremental {incremental.Calls} in {incremental.Wall.TotalSeconds:0.0} s");
        return ([full, incremental], cold);
    }

    /// <summary>
    /// The previous night: another process (its own service graph: token, usage reading and caches of its own) checks
    /// the field and keeps the describes in the app's SyncState table. Returns what that cost.
    /// </summary>
    public static async Task<ApiCalls> WarmFieldCheckAsync(BenchApp app, SandboxHost sandbox, BenchOptions options, BenchReport report, CancellationToken ct)
    {
        var before = await sandbox.GetStatsAsync(ct);
        var previous = BenchApp.Create(options.StorageConnectionString, sandbox, new Dictionary<string, string?> { ["Storage:SyncStateTable"] = app.Names.SyncStateTable });
        try
        {
            var resolution = await previous.Services.GetRequiredService<IOptOutFieldResolver>().ResolveAsync(ct);
            report.Require(resolution.IsUsable, $"the field check failed: {string.Join("; ", resolution.Problems)}");
        }
        finally
        {
            // Not previous.DisposeAsync(): that deletes its tables, and the SyncState table is the app's.
            await previous.Services.DisposeAsync();
        }

        return await sandbox.GetStatsAsync(ct) - before;
    }

    private async Task<CurvePoint> RunOnceAsync(BenchApp app, SalesforceTimer timer, int ledgerEntries, int salesforceRecords, string run, int floor, CancellationToken ct)
    {
        var calls = await sandbox.GetStatsAsync(ct);
        var storage = app.StorageRequests.ByKind;
        var (storageTime, salesforceTime) = (app.StorageRequests.Elapsed, timer.Elapsed);
        GC.Collect();
        var probe = MemoryProbe.Start();
        var clock = Stopwatch.GetTimestamp();
        await driver.RunAsync(app, ct);
        var wall = Stopwatch.GetElapsedTime(clock);
        var memory = await probe.StopAsync();
        var after = app.StorageRequests.ByKind;
        var byKind = after.ToDictionary(p => p.Key, p => p.Value - storage.GetValueOrDefault(p.Key), StringComparer.Ordinal);
        var point = new CurvePoint(ledgerEntries, salesforceRecords, run, await sandbox.GetStatsAsync(ct) - calls, floor, byKind, wall,
            timer.Elapsed - salesforceTime, app.StorageRequests.Elapsed - storageTime, memory);
        report.Require(point.Calls.Total > 0 && point.StorageRequests > 0, $"curve {ledgerEntries} {run}: no Salesforce calls or no storage requests");
        return point;
    }

    private static string CallsTable(IEnumerable<CurvePoint> points)
    {
        var md = new StringBuilder();
        md.AppendLine("| Ledger entries | Salesforce records | Run | Salesforce calls | Floor | Ratio (token excluded) | Wall time | Salesforce time (summed) | Storage time (summed) | Peak working set | Peak managed |");
        md.Append("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var p in points)
        {
            md.AppendLine().Append(CultureInfo.InvariantCulture,
                $"| {p.LedgerEntries:N0} | {p.SalesforceRecords:N0} | {p.Run} | {p.Calls} | {p.Floor} + token | {p.NonTokenCalls / (double)p.Floor:0.00}x | "
                + $"{p.Wall.TotalSeconds:0.0} s | {p.SalesforceTime.TotalSeconds:0.0} s | {p.StorageTime.TotalSeconds:0.0} s | "
                + $"{MemoryReading.Mb(p.Memory.PeakWorkingSetBytes)} | {MemoryReading.Mb(p.Memory.PeakManagedBytes)} |");
        }

        return md.ToString();
    }

    private static string StorageTable(IEnumerable<CurvePoint> points)
    {
        var md = new StringBuilder();
        md.AppendLine("Storage requests per ledger entry, by kind:").AppendLine();
        md.AppendLine($"| Ledger entries | Salesforce records | Run | {string.Join(" | ", StorageKinds)} | all | storage time per entry |");
        md.Append($"|---|---|---|{string.Concat(Enumerable.Repeat("---|", StorageKinds.Length))}---|---|");
        foreach (var p in points)
        {
            var perEntry = StorageKinds.Select(k => (p.StorageByKind.GetValueOrDefault(k) / (double)p.LedgerEntries).ToString("0.000", CultureInfo.InvariantCulture));
            md.AppendLine().Append(CultureInfo.InvariantCulture,
                $"| {p.LedgerEntries:N0} | {p.SalesforceRecords:N0} | {p.Run} | {string.Join(" | ", perEntry)} | {p.StorageRequests / (double)p.LedgerEntries:0.000} | "
                + $"{p.StorageTime.TotalMilliseconds / p.LedgerEntries:0.00} ms |");
        }

        return md.ToString();
    }

    private static string Flatness(IReadOnlyList<CurvePoint> points)
    {
        var full = points.Where(p => p.Run == "full" && p.LedgerEntries == p.SalesforceRecords).ToList();
        if (full.Count < 2)
        {
            return "Too few sizes to compare.";
        }

        var perEntry = full.Select(p => p.StorageRequests / (double)p.LedgerEntries).ToList();
        var callsPerThousand = full.Select(p => p.NonTokenCalls * 1000.0 / p.SalesforceRecords).ToList();
        var managed = full.Select(p => p.Memory.PeakManagedBytes).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"Full runs from {full[0].LedgerEntries:N0} to {full[^1].LedgerEntries:N0} entries ({full[^1].LedgerEntries / (double)full[0].LedgerEntries:0}x the data): "
            + $"storage requests per entry {perEntry.Min():0.000}-{perEntry.Max():0.000} (spread {(perEntry.Max() / perEntry.Min() - 1) * 100:0.0} %), "
            + $"Salesforce calls per 1,000 records {callsPerThousand.Min():0.00}-{callsPerThousand.Max():0.00}, "
            + $"peak managed memory {MemoryReading.Mb(managed.Min())}-{MemoryReading.Mb(managed.Max())}.");
    }
}
