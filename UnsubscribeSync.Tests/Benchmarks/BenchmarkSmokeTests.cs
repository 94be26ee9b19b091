using UnsubscribeSync.Benchmarks.Harness;

namespace UnsubscribeSync.Tests.Benchmarks;

/// <summary>
/// Runs the benchmark harness (UnsubscribeSync.Benchmarks) in smoke mode against Azurite and an
/// in-process sandbox, so the benchmarks cannot rot. It asserts nothing about speed: only that every
/// scenario runs and reports possible numbers (events processed, calls made, records read).
/// </summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public async Task SmokeRun_EveryScenarioRunsAndReportsPossibleNumbers()
    {
        // Arrange
        var output = Path.Combine(Path.GetTempPath(), $"benchmarks-smoke-{Guid.NewGuid():N}.md");
        var options = BenchOptions.Smoke() with { OutputPath = output };
        using var log = new StringWriter();

        try
        {
            // Act
            var report = await BenchRunner.RunAsync(options, log, TestContext.Current.CancellationToken);

            // Assert
            Assert.True(report.Problems.Count == 0, string.Join(Environment.NewLine, report.Problems) + Environment.NewLine + log);
            Assert.Contains(report.Scenarios, s => s.Key == "intake" && s.Status == ScenarioStatus.Measured);
            Assert.Contains(report.Scenarios, s => s.Key == "naive" && s.Status == ScenarioStatus.Measured);
            Assert.Contains(report.Scenarios, s => s.Key == "push-burst" && s.Status == ScenarioStatus.Measured);
            Assert.Contains(report.Scenarios, s => s.Key == "push-idle" && s.Status == ScenarioStatus.Measured);
            Assert.DoesNotContain(report.Scenarios, s => s.Status == ScenarioStatus.Failed);
            Assert.Contains("## Machine", await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
