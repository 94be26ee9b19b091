using UnsubscribeSync.Benchmarks.Harness;

namespace UnsubscribeSync.Benchmarks;

/// <summary>
/// <c>UnsubscribeSync.Benchmarks [--smoke|--full] [--million] [--curve] [--only LIST] [--output PATH] [--sandbox-url URL] [--storage CONNECTION]</c>.
/// Normally started by <c>scripts/bench.sh</c>, which also starts Azurite and the sandbox. Exits 1 when any
/// scenario failed or reported an impossible number.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = BenchOptions.Full();
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--smoke":
                    options = BenchOptions.Smoke() with { IncludeMillion = options.IncludeMillion, Only = options.Only };
                    break;
                case "--full":
                    options = BenchOptions.Full() with { IncludeMillion = options.IncludeMillion, IncludeCurve = options.IncludeCurve, Only = options.Only };
                    break;
                case "--million":
                    options = options with { IncludeMillion = true };
                    break;
                case "--curve":
                    options = options with { IncludeCurve = true };
                    break;
                case "--output" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--sandbox-url" when i + 1 < args.Length:
                    options = options with { SandboxUrl = new Uri(args[++i].TrimEnd('/') + "/") };
                    break;
                case "--storage" when i + 1 < args.Length:
                    options = options with { StorageConnectionString = args[++i] };
                    break;
                case "--only" when i + 1 < args.Length:
                    options = options with { Only = new HashSet<string>(args[++i].Split(','), StringComparer.OrdinalIgnoreCase) };
                    break;
                case "--sync-entries" when i + 1 < args.Length:
                    options = options with { SyncEntries = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) };
                    break;
                case "--artifacts" when i + 1 < args.Length:
                    options = options with { ArtifactsPath = args[++i] };
                    break;
                default:
                    await Console.Error.WriteLineAsync($"Unknown argument '{args[i]}'. Usage: [--smoke|--full] [--million] [--output PATH] [--sandbox-url URL] [--storage CONNECTION] [--artifacts DIR] [--only micro,intake,push,sync] [--sync-entries N] [--curve]");
                    return 2;
            }
        }

        options = options with { OutputPath = output, SandboxUrl = options.SandboxUrl, StorageConnectionString = options.StorageConnectionString };
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var report = await BenchRunner.RunAsync(options, Console.Out, cancel.Token);
        foreach (var scenario in report.Scenarios)
        {
            Console.WriteLine($"{scenario.Title} [{scenario.Status}]");
            foreach (var f in scenario.Figures)
            {
                Console.WriteLine($"  {f.Name}: {f.Value}{(f.Floor is null ? string.Empty : $" | floor {f.Floor}")}{(f.Ratio is null ? string.Empty : $" | {f.Ratio}")}{(f.Target is null ? string.Empty : $" | target {f.Target}: {(f.Met is null ? "n/a" : f.Met.Value ? "met" : "MISSED")}")}");
            }
        }

        foreach (var problem in report.Problems)
        {
            await Console.Error.WriteLineAsync("PROBLEM: " + problem);
        }

        return report.Problems.Count == 0 ? 0 : 1;
    }
}
