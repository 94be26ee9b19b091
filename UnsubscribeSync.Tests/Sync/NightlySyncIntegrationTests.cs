using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The nightly sync end to end: timer, queued batches, Azurite and the Salesforce sandbox.</summary>
public sealed class NightlySyncIntegrationTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    [Fact]
    public async Task RunNightly_FirstRun_BackfillsBothWays()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(
            [
                SandboxRecord.Contact("sf.optout@example.com", optedOut: true),
                SandboxRecord.Contact("ledger.contact@example.com", optedOut: false),
                SandboxRecord.Lead("Ledger.Lead@Example.com", optedOut: false),
                SandboxRecord.Contact(null, optedOut: true),
                SandboxRecord.Contact("bystander@example.com", optedOut: false),
            ],
            Ct);
        var now = h.Storage.Time.GetUtcNow();
        await h.UnsubscribeAsync("evt-1", "ledger.contact@example.com", ids[1], now);
        await h.UnsubscribeAsync("evt-2", "ledger.lead@example.com", ids[2], now);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal(("full", nameof(SyncPhase.Completed), true), (run.Mode, run.Phase, run.WatermarkAdvanced));
        Assert.Equal((5, 1, 1, 2), (report.RecordsRead, report.NoEmail, report.OptOutsImported, report.Written));
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
        Assert.True(await h.SalesforceOptOutAsync(ids[2]));
        Assert.False(await h.SalesforceOptOutAsync(ids[4]));

        var imported = await h.GetLedgerAsync("sf.optout@example.com");
        Assert.NotNull(imported);
        Assert.Equal((ConsentState.Unsubscribed, "salesforce"), (imported.State.ConsentState, imported.State.StateSource));
        var link = Assert.Single(imported.Links);
        Assert.Equal((ids[0], LinkStatus.Synced, "sync"), (link.SalesforceId, link.Status, link.LinkedFrom));
        Assert.All((await h.GetLedgerAsync("ledger.lead@example.com"))!.Links, l => Assert.Equal(LinkStatus.Synced, l.Status));
        Assert.Null(await h.GetLedgerAsync("bystander@example.com"));

        var watermark = await h.Runs.GetWatermarkAsync(Ct);
        Assert.Equal(run.Until, watermark!.Watermark);
        Assert.Null((await h.Runs.GetLeaseAsync(Ct))!.RunId);
    }

    [Fact]
    public async Task RunNightly_IncrementalRun_ReadsOnlyChangedRecords()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(
            Enumerable.Range(0, 20).Select(i => SandboxRecord.Contact($"quiet{i}@example.com", optedOut: i % 2 == 0)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[1], new { HasOptedOutOfEmail = true }, Ct);
        var newcomer = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("newcomer@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal("incremental", run.Mode);
        Assert.Equal((2, 2, 0), (report.RecordsRead, report.OptOutsImported, report.Written));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("quiet1@example.com"))!.State.ConsentState);
        Assert.Equal(newcomer[0], Assert.Single((await h.GetLedgerAsync("newcomer@example.com"))!.Links).SalesforceId);
    }

    [Fact]
    public async Task RunNightly_OptOutOnEitherSide_Wins()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(
            [SandboxRecord.Contact("left@example.com", optedOut: false), SandboxRecord.Contact("right@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-sub-left", "left@example.com", ids[0], h.Storage.Time.GetUtcNow().AddDays(-2), ConsentEventType.Resubscribe);
        await h.UnsubscribeAsync("evt-sub-right", "right@example.com", ids[1], h.Storage.Time.GetUtcNow().AddDays(-2), ConsentEventType.Resubscribe);
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act: an opt-out in Salesforce for one, an unsubscribe through Marketo Sales for the other.
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new { HasOptedOutOfEmail = true }, Ct);
        await h.UnsubscribeAsync("evt-unsub-right", "right@example.com", ids[1], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("left@example.com"))!.State.ConsentState);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("right@example.com"))!.State.ConsentState);
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
        Assert.Equal(1, SyncHarness.Report(run).Written);
    }

    [Fact]
    public async Task RunNightly_ResubscribeNewerThanSalesforceOptOut_Stands()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("changed.mind@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-resub", "changed.mind@example.com", ids[0], h.Storage.Time.GetUtcNow(), ConsentEventType.Resubscribe);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var ledger = await h.GetLedgerAsync("changed.mind@example.com");
        Assert.Equal((ConsentState.Subscribed, "evt-resub"), (ledger!.State.ConsentState, ledger.State.StateEventId));
        Assert.Equal(LinkStatus.NotRequired, Assert.Single(ledger.Links).Status);
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.Equal(0, SyncHarness.Report(run).Written);
    }

    [Fact]
    public async Task RunNightly_ResubscribeWithPushResubscribes_ClearsSalesforce()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:PushResubscribes", "true")));
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("back.again@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-resub", "back.again@example.com", ids[0], h.Storage.Time.GetUtcNow(), ConsentEventType.Resubscribe);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));

        // Act
        await h.RunNightlyAsync();

        // Assert
        Assert.False(await h.SalesforceOptOutAsync(ids[0]));
        Assert.Equal(LinkStatus.Synced, Assert.Single((await h.GetLedgerAsync("back.again@example.com"))!.Links).Status);
    }

    [Fact]
    public async Task RunNightly_UncheckUnderReassert_WritesOptOutAgainAndReportsDrift()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("sticky@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new { HasOptedOutOfEmail = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((1, 1), (report.Drift, report.Written));
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("sticky@example.com"))!.State.ConsentState);
        EmailAddress.TryCreate("sticky@example.com", out var address, out _);
        var audit = await h.Storage.Audit.ReadAsync(address!.Key, Ct).ToListAsync(Ct);
        Assert.Contains(audit, a => a.Kind == "drift" && a.SalesforceId == ids[0]);
    }

    [Fact]
    public async Task RunNightly_UncheckUnderResubscribe_ResubscribesTheAddress()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:SalesforceUncheck", "Resubscribe")));
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("let.go@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new { HasOptedOutOfEmail = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((1, 0, 0), (report.ResubscribesImported, report.Drift, report.Written));
        Assert.False(await h.SalesforceOptOutAsync(ids[0]));
        var ledger = await h.GetLedgerAsync("let.go@example.com");
        Assert.Equal((ConsentState.Subscribed, "salesforce"), (ledger!.State.ConsentState, ledger.State.StateSource));
        var audit = await h.Storage.Audit.ReadAsync(ledger.State.PartitionKey, Ct).ToListAsync(Ct);
        Assert.Contains(audit, a => a.Type == "resubscribe" && a.Source == "salesforce" && a.Outcome == "applied");
    }

    [Fact]
    public async Task RunNightly_ConvertedLead_FollowsToContact()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(
            [SandboxRecord.Lead("converted@example.com", optedOut: false), SandboxRecord.Contact("converted@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-conv", "converted@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
        var links = (await h.GetLedgerAsync("converted@example.com"))!.Links.ToDictionary(l => l.SalesforceId);
        Assert.Equal(LinkStatus.Dead, links[ids[0]].Status);
        Assert.Equal((LinkStatus.Synced, "redirect"), (links[ids[1]].Status, links[ids[1]].LinkedFrom));
        Assert.Equal(1, SyncHarness.Report(run).Redirected);
    }

    [Fact]
    public async Task RunNightly_AddressWithoutId_IsKeptAwaitingAndCounted()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("no.id@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-noid", "no.id@example.com", null, h.Storage.Time.GetUtcNow());

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(1, SyncHarness.Report(run).AwaitingId);
        var ledger = await h.GetLedgerAsync("no.id@example.com");
        Assert.True(ledger!.State.AwaitingSalesforceId);
        Assert.Empty(ledger.Links);
    }

    [Fact]
    public async Task RunNightly_ResolveByEmail_FansOutToEveryRecordWithTheAddress()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:ResolveByEmail", "true")));
        var ids = await sandbox.Control.CreateRecordsAsync(
            [
                SandboxRecord.Contact("O'Brien@Example.com", optedOut: false),
                SandboxRecord.Contact("o'brien@example.com", optedOut: false),
                SandboxRecord.Lead("o'brien@example.com", optedOut: false),
                SandboxRecord.Contact("someone.else@example.com", optedOut: false),
            ],
            Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-dupes", "o'brien@example.com", null, h.Storage.Time.GetUtcNow());
        await h.UnsubscribeAsync("evt-nobody", "nobody@example.com", null, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
        Assert.True(await h.SalesforceOptOutAsync(ids[2]));
        Assert.False(await h.SalesforceOptOutAsync(ids[3]));
        var ledger = await h.GetLedgerAsync("o'brien@example.com");
        Assert.False(ledger!.State.AwaitingSalesforceId);
        Assert.Equal(ids.Take(3).Order(), ledger.Links.Select(l => l.SalesforceId).Order());
        Assert.All(ledger.Links, l => Assert.Equal(LinkStatus.Synced, l.Status));
        var report = SyncHarness.Report(run);
        Assert.Equal((3, 1), (report.Written, report.AwaitingId));
    }

    [Fact]
    public async Task Tick_NightlyDisabled_OnlyFinishesHalfFinishedIntakes()
    {
        // Arrange: an opt-out in Salesforce the sync would import, and a webhook intake that stopped half-way.
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:NightlyEnabled", "false")));
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("ignored@example.com", optedOut: true)], Ct);
        await IntakeSweepTests.StopHalfWayAsync(h, "evt-off", "sync.off@example.com");
        await h.AdvanceAsync(TimeSpan.FromMinutes(20));
        var before = await sandbox.Control.GetStatsAsync(Ct);

        // Act
        var outcome = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(false, Ct);
        await h.DrainAsync();

        // Assert: the intake reaches the ledger (and its push queue); Salesforce is not called and nothing is imported.
        Assert.Equal(NightlySyncOutcome.Disabled, outcome);
        var run = Assert.Single(await h.Runs.ListRunsAsync(Ct));
        Assert.Equal((SyncRunEntity.IntakesOnlyMode, nameof(SyncPhase.Completed), false), (run.Mode, run.Phase, run.WatermarkAdvanced));
        Assert.Equal(1, SyncHarness.Report(run).IntakesCompleted);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("sync.off@example.com"))!.State.ConsentState);
        Assert.Null(await h.GetLedgerAsync("ignored@example.com"));
        Assert.Equal(before.Total, (await sandbox.Control.GetStatsAsync(Ct)).Total);
        Assert.Null(await h.Runs.GetWatermarkAsync(Ct));
    }

    [Fact]
    public async Task Tick_TwoTicksAtOnce_StartOneRun()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var service = h.Services.GetRequiredService<INightlySyncService>();

        // Act
        var outcomes = await Task.WhenAll(service.TickAsync(false, Ct), service.TickAsync(true, Ct));
        await h.DrainAsync();

        // Assert
        Assert.Equal([NightlySyncOutcome.Started, NightlySyncOutcome.Waiting], outcomes.Order());
        var run = Assert.Single(await h.Runs.ListRunsAsync(Ct));
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
    }

    [Fact]
    public async Task RunNightly_ForceFullReconcile_IgnoresWatermarkEveryRun()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:ForceFullReconcile", "true")));
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("full.again@example.com", optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var second = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(("full", 1, 0), (second.Mode, SyncHarness.Report(second).RecordsRead, SyncHarness.Report(second).Written));
        Assert.Null(second.Since);
    }
}
