namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>How far a scenario got.</summary>
public enum ScenarioStatus
{
    Measured,
    NotMeasuredYet,
    Failed,
}

/// <summary>One reported number: its value, the floor it is compared with, the ratio, and the target it must meet.</summary>
/// <param name="Name">What is measured.</param>
/// <param name="Value">The figure with its unit.</param>
/// <param name="Floor">The floor measured or computed in the same run, when there is one.</param>
/// <param name="Ratio">Value against the floor (cost ratio: higher is worse), when there is one.</param>
/// <param name="Target">The limit from the issue, when there is one.</param>
/// <param name="Met">Whether the target is met; null when there is no target.</param>
public sealed record Figure(string Name, string Value, string? Floor = null, string? Ratio = null, string? Target = null, bool? Met = null);

/// <summary>What one scenario measured.</summary>
public sealed class ScenarioResult(string key, string title)
{
    public string Key { get; } = key;

    public string Title { get; } = title;

    public ScenarioStatus Status { get; set; } = ScenarioStatus.Measured;

    public List<Figure> Figures { get; } = [];

    public List<string> Notes { get; } = [];

    public TimeSpan Elapsed { get; set; }

    public Figure Add(Figure figure)
    {
        Figures.Add(figure);
        return figure;
    }
}

/// <summary>A micro-benchmark row from BenchmarkDotNet.</summary>
public sealed record MicroResult(string Benchmark, double MeanNanoseconds, double? ErrorNanoseconds, long? AllocatedBytes, double? RatioToBaseline, bool IsBaseline);

/// <summary>Everything one run measured, plus every implausible number or failure found on the way.</summary>
public sealed class BenchReport
{
    public required BenchOptions Options { get; init; }

    public required MachineInfo Machine { get; init; }

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public TimeSpan Duration { get; set; }

    public List<ScenarioResult> Scenarios { get; } = [];

    public List<MicroResult> Micro { get; } = [];

    public List<string> MicroNotes { get; } = [];

    /// <summary>Failures and impossible numbers. A run with problems exits non-zero; the smoke test asserts there are none.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Records a problem unless <paramref name="condition"/> holds.</summary>
    public void Require(bool condition, string problem)
    {
        if (!condition)
        {
            lock (Problems)
            {
                Problems.Add(problem);
            }
        }
    }
}
