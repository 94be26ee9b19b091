using System.Diagnostics;
using UnsubscribeSync.Benchmarks.Micro;
using UnsubscribeSync.Benchmarks.Scenarios;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>Runs every scenario in order and collects one report. A scenario that throws is reported as failed; the others still run.</summary>
public static class BenchRunner
{
    public static async Task<BenchReport> RunAsync(BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var report = new BenchReport { Options = options, Machine = MachineInfo.Current() };
        var clock = Stopwatch.GetTimestamp();

        // Micro-benchmarks first, while the process is quiet.
        log.WriteLine("Micro-benchmarks...");
        if (options.Runs("micro"))
        {
            Guard(report, "micro", () =>
            {
                MicroRunner.Run(options, report, log);
                return Task.CompletedTask;
            }).GetAwaiter().GetResult();
        }

        await using var sandbox = await SandboxHost.StartAsync(options.SandboxUrl, cancellationToken);
        log.WriteLine($"Salesforce sandbox at {sandbox.BaseAddress} ({(sandbox.IsInProcess ? "in this process" : "its own process")}); storage {Describe(options.StorageConnectionString)}");

        log.WriteLine("1. Webhook intake...");
        if (options.Runs("intake"))
        {
            await Guard(report, "intake", async () => report.Scenarios.Add(await new IntakeScenario(options, report, log).RunAsync(cancellationToken)));
        }

        log.WriteLine("2. Push...");
        if (options.Runs("push"))
        {
            await Guard(report, "push", async () => report.Scenarios.AddRange(await new PushScenario(options, report, log, sandbox).RunAsync(cancellationToken)));
        }

        var driver = SyncDrivers.Create();
        log.WriteLine($"3. Nightly sync ({options.SyncEntries:N0} entries) and 4. naive baseline...");
        if (options.Runs("sync"))
        {
            await Guard(report, "sync", async () => report.Scenarios.AddRange(
                await new SyncScenario(options, report, log, sandbox, driver).RunAsync(options.SyncEntries, "sync", $"3. Nightly sync, {options.SyncEntries:N0} entries", withBaseline: true, cancellationToken)));
        }

        if (options.IncludeMillion)
        {
            log.WriteLine("3b. Nightly sync (1,000,000 entries)...");
            await Guard(report, "sync-million", async () => report.Scenarios.AddRange(
                await new SyncScenario(options, report, log, sandbox, driver).RunAsync(1_000_000, "sync-million", "3b. Nightly sync, 1,000,000 entries", withBaseline: false, cancellationToken)));
        }

        if (options.IncludeCurve)
        {
            log.WriteLine("5. Sync cost curve...");
            await Guard(report, "curve", async () => report.Scenarios.Add(await new SyncCurveScenario(options, report, log, sandbox, driver).RunAsync(cancellationToken)));
        }

        report.Duration = Stopwatch.GetElapsedTime(clock);
        if (options.OutputPath is { } path)
        {
            MarkdownReport.Write(report, path);
            log.WriteLine($"Wrote {path}");
        }

        return report;
    }

    private static async Task Guard(BenchReport report, string key, Func<Task> scenario)
    {
        try
        {
            await scenario();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            report.Problems.Add($"{key} failed: {e}");
            var failed = new ScenarioResult(key, key) { Status = ScenarioStatus.Failed };
            failed.Notes.Add($"Failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            report.Scenarios.Add(failed);
        }
    }

    private static string Describe(string connectionString) =>
        connectionString.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase) ? "Azurite (development storage)" : "from the connection string";
}
