using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>Salesforce API calls a run makes, counted by the sandbox (<c>/sandbox/stats</c>).</summary>
public sealed class SyncEfficiencyTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_IncrementalOverTenThousandEntries_UsesAtMostTenCalls()
    {
        // Arrange: 10,000 confirmed opt-outs and a watermark from "last night".
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var synced = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 10_000).Select(i => SandboxRecord.Contact($"member{i}@example.com", optedOut: true)), Ct);
        var owed = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 100).Select(i => SandboxRecord.Contact($"fresh{i}@example.com", optedOut: false)), Ct);
        var seeding = Stopwatch.StartNew();
        await SyncSeeding.SeedLedgerAsync(h.LedgerTable, synced.Select((id, i) => ($"member{i}@example.com", id, LinkStatus.Synced)), h.Storage.Time.GetUtcNow());
        seeding.Stop();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.Services.GetRequiredService<SyncRunStore>().AdvanceWatermarkAsync("seed", h.Storage.Time.GetUtcNow(), null, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // 100 ledger changes (webhook unsubscribes owed to Salesforce) and 50 Salesforce changes (30 un-checks, 20 new opt-outs).
        var now = h.Storage.Time.GetUtcNow();
        await Parallel.ForAsync(0, 100, Ct, async (i, _) => await h.UnsubscribeAsync($"evt-fresh-{i}", $"fresh{i}@example.com", owed[i], now));
        foreach (var id in synced.Take(30))
        {
            await sandbox.Control.UpdateRecordAsAdminAsync(id, new { HasOptedOutOfEmail = false }, Ct);
        }

        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 20).Select(i => SandboxRecord.Lead($"sf.new{i}@example.com", optedOut: true)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var before = await sandbox.Control.GetStatsAsync(Ct);

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var after = await sandbox.Control.GetStatsAsync(Ct);
        var calls = after.Total - before.Total - (after.Token - before.Token);
        var report = SyncHarness.Report(run);
        TestContext.Current.SendDiagnosticMessage(
            $"incremental: {calls} calls (query {after.Query - before.Query}, composite {after.Composite - before.Composite}, describe {after.Describe - before.Describe}); "
            + $"read {report.RecordsRead}, written {report.Written}, drift {report.Drift}, imported {report.OptOutsImported}; counted {report.ApiCalls}; seeding {seeding.Elapsed.TotalSeconds:F1}s");
        Assert.Equal("incremental", run.Mode);
        Assert.Equal((50, 130, 30, 20), (report.RecordsRead, report.Written, report.Drift, report.OptOutsImported));
        Assert.InRange(calls, 1, 10);
        // The report counts every request the client sent: the token and the describes included.
        Assert.Equal(after.Total - before.Total, report.ApiCalls);
    }

    [Fact]
    public async Task RunNightly_FullFirstRun_ReadsPagesAndWritesInCollections()
    {
        // Arrange: N = 3,000 opted-out Salesforce records, M = 1,000 ledger entries owed to Salesforce.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 3000).Select(i => SandboxRecord.Contact($"sf.optout{i}@example.com", optedOut: true)), Ct);
        var owed = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 1000).Select(i => SandboxRecord.Lead($"owed{i}@example.com", optedOut: false)), Ct);
        await SyncSeeding.SeedLedgerAsync(h.LedgerTable, owed.Select((id, i) => ($"owed{i}@example.com", id, LinkStatus.Pending)), h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var before = await sandbox.Control.GetStatsAsync(Ct);

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var after = await sandbox.Control.GetStatsAsync(Ct);
        var (queries, composite) = (after.Query - before.Query, after.Composite - before.Composite);
        var report = SyncHarness.Report(run);
        TestContext.Current.SendDiagnosticMessage(
            $"full: query {queries}, composite {composite}, describe {after.Describe - before.Describe}, total {after.Total - before.Total - (after.Token - before.Token)}; "
            + $"read {report.RecordsRead}, written {report.Written}, imported {report.OptOutsImported}");
        Assert.Equal("full", run.Mode);
        Assert.Equal((4000, 1000, 3000), (report.RecordsRead, report.Written, report.OptOutsImported));

        // Contacts: 3,000 in 2 pages; Leads: 1,000 in 1 page; Person Accounts: none, 1 page. Writes: 1,000 / 200.
        Assert.Equal(4, queries);
        Assert.Equal(5, composite);
    }
}
