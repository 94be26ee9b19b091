using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

/// <summary>
/// Runs jsforce 3.10.16, a real third-party Salesforce client, against the sandbox. If jsforce cannot
/// talk to the sandbox, the sandbox is not faithful enough.
/// </summary>
public sealed class JsforceConformanceTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string EmailPrefix = "jsforce-";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Jsforce_TokenUpdateQueryCollectionsAndRefresh_WorkAgainstSandbox()
    {
        // Arrange
        var root = RepositoryRoot();
        var jsforcePackage = Path.Combine(root, "node_modules", "jsforce", "package.json");
        Assert.True(File.Exists(jsforcePackage), $"jsforce is not installed ({jsforcePackage} is missing): run `npm ci` in {root} first.");
        var ids = await sandbox.Control.CreateRecordsAsync(
            Enumerable.Range(0, 450).Select(i => SandboxRecord.Contact($"{EmailPrefix}{i:000}@example.com")), Ct);
        var batch = ids.Skip(10).Take(5).ToList();
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("someone-else@example.com")], Ct);

        // Act
        var (exitCode, stdout, stderr) = await RunNodeAsync(root, new Dictionary<string, string>
        {
            ["SANDBOX_URL"] = sandbox.BaseAddress.ToString().TrimEnd('/'),
            ["SANDBOX_CLIENT_ID"] = sandbox.ClientId,
            ["SANDBOX_CLIENT_SECRET"] = sandbox.ClientSecret,
            ["SANDBOX_SINGLE_ID"] = ids[0],
            ["SANDBOX_BATCH_IDS"] = string.Join(',', batch),
            ["SANDBOX_EMAIL_PREFIX"] = EmailPrefix,
        });

        // Assert
        Assert.True(exitCode == 0, $"node exited with {exitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        var summary = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
        Assert.True(summary["singleSuccess"]!.GetValue<bool>());
        Assert.Equal(450, summary["pagedTotalSize"]!.GetValue<int>());
        Assert.Equal(450, summary["pagedRecords"]!.GetValue<int>());
        Assert.Equal($"{EmailPrefix}000@example.com", summary["pagedFirstEmail"]!.GetValue<string>());
        Assert.Equal(batch, summary["collectionResults"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        Assert.All(summary["collectionResults"]!.AsArray(), r => Assert.True(r!["success"]!.GetValue<bool>()));
        Assert.Equal(5, summary["readBackOptedOut"]!.GetValue<int>());
        Assert.True(summary["retrievedOptedOut"]!.GetValue<bool>());
        Assert.Contains(sandbox.CustomOptOutField, summary["describeFields"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal(100_000, summary["dailyApiMax"]!.GetValue<int>());
        Assert.Equal(100_000, summary["limitInfo"]!["limit"]!.GetValue<int>());
        Assert.Equal("NOT_FOUND", summary["notFoundErrorCode"]!.GetValue<string>());

        foreach (var id in batch.Append(ids[0]))
        {
            Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        }

        Assert.False((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(2, stats.Token);
        Assert.Equal(1, stats.Composite);
        Assert.Equal(5, stats.Query);
        Assert.Equal(3, stats.Sobject);
    }

    private static string RepositoryRoot() =>
        typeof(JsforceConformanceTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "RepositoryRoot").Value!;

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeAsync(string root, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(root, "UnsubscribeSync.Tests", "Sandbox", "Conformance", "jsforce-conformance.js")])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
