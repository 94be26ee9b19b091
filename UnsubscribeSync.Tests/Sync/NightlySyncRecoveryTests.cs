using Azure;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>Runs that are cut short: by the API budget, the daily limit, or a crash between batches.</summary>
public sealed class NightlySyncRecoveryTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_AboveApiBudget_DefersWritesAndKeepsWatermark()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 3).Select(i => SandboxRecord.Contact($"budget{i}@example.com", optedOut: false)), Ct);
        var now = h.Storage.Time.GetUtcNow();
        for (var i = 0; i < ids.Count; i++)
        {
            await h.UnsubscribeAsync($"evt-budget-{i}", $"budget{i}@example.com", ids[i], now);
        }

        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 800 }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var stopped = await h.RunNightlyAsync();
        var composite = (await sandbox.Control.GetStatsAsync(Ct)).Composite;
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { ApiUsage = 0 }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(2));
        var resumed = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(stopped);
        Assert.True(stopped.BudgetStopped);
        Assert.False(stopped.WatermarkAdvanced);
        Assert.Equal((3, 0), (report.Deferred, report.Written));
        Assert.Equal(0, composite);
        Assert.Equal("full", resumed.Mode);
        Assert.Equal(3, SyncHarness.Report(resumed).Written);
        Assert.True(resumed.WatermarkAdvanced);
        foreach (var id in ids)
        {
            Assert.True(await h.SalesforceOptOutAsync(id));
        }
    }

    [Fact]
    public async Task RunNightly_DailyLimitExceeded_DefersAndReports()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("limit@example.com", optedOut: false)], Ct);
        await h.UnsubscribeAsync("evt-limit", "limit@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        // One record goes out as a PATCH, more as a collections call: the limit answers either.
        await sandbox.Control.AddFaultsAsync(
            Ct,
            new SandboxFault("composite", 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            new SandboxFault("sobject", 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.True(run.BudgetStopped);
        Assert.Equal(1, SyncHarness.Report(run).Deferred);
        Assert.Equal(LinkStatus.Deferred, Assert.Single((await h.GetLedgerAsync("limit@example.com"))!.Links).Status);
    }

    [Fact]
    public async Task Tick_RunCrashedBetweenBatches_IsResumedWithNothingLostOrWrittenTwice()
    {
        // Arrange: 450 owed opt-outs make three write batches.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 450).Select(i => SandboxRecord.Contact($"crash{i}@example.com", optedOut: false)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await SyncSeeding.SeedLedgerAsync(h.LedgerTable, ids.Select((id, i) => ($"crash{i}@example.com", id, LinkStatus.Pending)), h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var before = await sandbox.Control.GetStatsAsync(Ct);
        await h.TickAsync();
        await h.DrainAsync(maxBatches: 5);

        // Act: the worker dies and its queued messages are lost; a tick soon after waits, a later one resumes.
        await h.Queue.ClearMessagesAsync(Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(5));
        var waiting = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(false, Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(30));
        var resumed = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(true, Ct);
        await h.DrainAsync();

        // Assert
        Assert.Equal((NightlySyncOutcome.Waiting, NightlySyncOutcome.Resumed), (waiting, resumed));
        var run = await h.LatestRunAsync();
        Assert.Equal(2, (await h.Runs.ListRunsAsync(Ct)).Count);
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(450, SyncHarness.Report(run).Written);
        Assert.Equal(3, (await sandbox.Control.GetStatsAsync(Ct)).Composite - before.Composite);
        foreach (var id in ids.Where((_, i) => i % 50 == 0))
        {
            Assert.True(await h.SalesforceOptOutAsync(id));
        }

        Assert.True(run.WatermarkAdvanced);
        Assert.Equal(NightlySyncOutcome.Started, await h.Services.GetRequiredService<INightlySyncService>().TickAsync(false, Ct));
    }

    [Fact]
    public async Task Tick_IntakeStoppedHalfWay_IsFinishedAndWrittenInTheSameRun()
    {
        // Arrange: the ledger write fails after the intake record was stored (the webhook answered 503).
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("half.way@example.com", optedOut: false)], Ct);
        await IntakeSweepTests.StopHalfWayAsync(h, "evt-half", "half.way@example.com", ids[0]);
        await h.AdvanceAsync(TimeSpan.FromMinutes(20));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(1, SyncHarness.Report(run).IntakesCompleted);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("half.way@example.com"))!.State.ConsentState);
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.Empty(await h.Storage.IntakeRecords.FindUnfinishedAsync(h.Storage.Time.GetUtcNow(), Ct).ToListAsync(Ct));
    }
}
