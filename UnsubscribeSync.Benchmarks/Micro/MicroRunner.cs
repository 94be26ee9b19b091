using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using UnsubscribeSync.Benchmarks.Harness;

namespace UnsubscribeSync.Benchmarks.Micro;

/// <summary>
/// Runs the BenchmarkDotNet classes with a short job in this process (no generated project to build,
/// which keeps the repository's separate build roots out of the picture). Smoke mode only calls
/// each benchmark once, so they cannot rot, and measures nothing.
/// </summary>
public static class MicroRunner
{
    public static readonly Type[] Benchmarks =
    [
        typeof(EventParserBenchmarks),
        typeof(SalesforceIdBenchmarks),
        typeof(SoqlBenchmarks),
        typeof(QueryPageBenchmarks),
    ];

    public static void Run(BenchOptions options, BenchReport report, TextWriter log)
    {
        if (!options.RunMicroBenchmarks)
        {
            CallEachOnce(report);
            report.MicroNotes.Add("Smoke mode: each micro-benchmark was called once to check it runs; nothing was measured.");
            return;
        }

        var config = ManualConfig.CreateEmpty()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .WithArtifactsPath(options.ArtifactsPath ?? Path.Combine(Path.GetTempPath(), "unsubscribesync-bdn"));

        foreach (var summary in BenchmarkRunner.Run(Benchmarks, config))
        {
            var rows = summary.Reports.Select(r => (
                Name: $"{r.BenchmarkCase.Descriptor.Type.Name.Replace("Benchmarks", string.Empty, StringComparison.Ordinal)}: {r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo}",
                Baseline: r.BenchmarkCase.Descriptor.Baseline,
                Mean: r.ResultStatistics?.Mean,
                Error: r.ResultStatistics?.StandardError,
                Allocated: r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase))).ToList();
            var baseline = rows.FirstOrDefault(r => r.Baseline).Mean;
            foreach (var row in rows)
            {
                report.Require(row.Mean is > 0, $"micro: {row.Name} has no result");
                report.Micro.Add(new MicroResult(row.Name, row.Mean ?? double.NaN, row.Error, row.Allocated,
                    baseline is > 0 && row.Mean is { } mean ? mean / baseline.Value : null, row.Baseline));
            }

            report.Require(!summary.HasCriticalValidationErrors, $"micro: {summary.Title} has validation errors");
        }

        report.MicroNotes.Add("BenchmarkDotNet 0.15.8, Job.ShortRun (3 warm-up, 3 measured iterations, 1 launch) with the in-process emit toolchain, MemoryDiagnoser. "
            + "The ratio is against the class's baseline row (the bare floor for the same input).");
        log.WriteLine($"  micro: {report.Micro.Count} benchmarks measured");
    }

    private static void CallEachOnce(BenchReport report)
    {
        foreach (var type in Benchmarks)
        {
            var instance = Activator.CreateInstance(type)!;
            foreach (var setup in type.GetMethods().Where(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null))
            {
                setup.Invoke(instance, null);
            }

            foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                var value = method.Invoke(instance, null);
                report.Require(value is int n ? n > 0 : value is string s && s.Length > 0, $"micro: {type.Name}.{method.Name} returned {value}");
            }
        }
    }
}
