using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// The opt-out field in force changes (the sync switched on while <c>Sync__TargetField=MarketoSalesOptOut</c>, or an
/// admin switching <c>Sync__TargetField</c>) under <c>Sync__SalesforceUncheck=Resubscribe</c>: a record we confirmed on
/// the old field reads clear on the new one, and that must be an owed write, never an un-check that resubscribes.
/// </summary>
public sealed class TargetFieldSwitchTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string Custom = "MSC__Marketo_Sales_Opt_Out__c";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    private async Task<bool> CustomOptOutAsync(string id) =>
        (await sandbox.Control.GetRecordAsync(id, Ct))[Custom]?.GetValue<bool>() ?? false;

    [Fact]
    public async Task RunNightly_SyncTurnedOnWithCustomFieldUnderResubscribe_WritesCustomFieldAndKeepsOptOut()
    {
        // Arrange: the sync is off, so push writes Email Opt Out although Sync__TargetField names the custom field.
        var off = Settings(("Sync:NightlyEnabled", "false"), ("Sync:TargetField", "MarketoSalesOptOut"), ("Sync:SalesforceUncheck", "Resubscribe"));
        await using var h = await SyncHarness.CreateAsync(sandbox, off);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("while.off@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        await h.UnsubscribeAsync("evt-off", "while.off@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await h.PushAsync();
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.False(await CustomOptOutAsync(ids[0]));
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await using var on = h.Reconfigure(Settings(("Sync:TargetField", "MarketoSalesOptOut"), ("Sync:SalesforceUncheck", "Resubscribe")));

        // Act
        var run = await on.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((0, 0), (report.ResubscribesImported, report.Drift));
        Assert.True(report.Written >= 1);
        Assert.True(await CustomOptOutAsync(ids[0]));
        var ledger = await on.GetLedgerAsync("while.off@example.com");
        Assert.Equal(ConsentState.Unsubscribed, ledger!.State.ConsentState);
        var link = ledger.Links.Single();
        Assert.Equal((LinkStatus.Synced, Custom), (link.Status, link.SyncedField));
    }

    [Fact]
    public async Task RunNightly_TargetFieldSwitchedUnderResubscribe_WritesNewFieldForReadAndUnreadRecords()
    {
        // Arrange: "early" is confirmed on Email Opt Out by the first run and not touched after it (so an incremental
        // run does not read it: only the outbox can find it); "late" is pushed after that run (so the run reads it).
        var resubscribe = ("Sync:SalesforceUncheck", "Resubscribe");
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:TargetField", "EmailOptOut"), resubscribe));
        var ids = await sandbox.Control.CreateRecordsAsync(
            [SandboxRecord.Contact("early@example.com", optedOut: false), SandboxRecord.Contact("late@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        await h.UnsubscribeAsync("evt-early", "early@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await h.PushAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-late", "late@example.com", ids[1], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await h.PushAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await using var switched = h.Reconfigure(Settings(("Sync:TargetField", "MarketoSalesOptOut"), resubscribe));

        // Act
        var run = await switched.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal("incremental", run.Mode);
        Assert.Equal((0, 0, 2), (report.ResubscribesImported, report.Drift, report.Written));
        foreach (var (email, id) in new[] { ("early@example.com", ids[0]), ("late@example.com", ids[1]) })
        {
            Assert.True(await CustomOptOutAsync(id), email);
            var ledger = await switched.GetLedgerAsync(email);
            Assert.Equal(ConsentState.Unsubscribed, ledger!.State.ConsentState);
            Assert.Equal((LinkStatus.Synced, Custom), (ledger.Links.Single().Status, ledger.Links.Single().SyncedField));
        }
    }

    [Fact]
    public async Task RunNightly_RepUnchecksFieldInForceUnderResubscribe_ResubscribesTheAddress()
    {
        // Arrange: push wrote the custom field (the field in force) and the link was confirmed on it.
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:TargetField", "MarketoSalesOptOut"), ("Sync:SalesforceUncheck", "Resubscribe")));
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("rep.cleared@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        await h.UnsubscribeAsync("evt-custom", "rep.cleared@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await h.PushAsync();
        Assert.True(await CustomOptOutAsync(ids[0]));
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new Dictionary<string, object?> { [Custom] = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((1, 0, 0), (report.ResubscribesImported, report.Drift, report.Written));
        Assert.False(await CustomOptOutAsync(ids[0]));
        var ledger = await h.GetLedgerAsync("rep.cleared@example.com");
        Assert.Equal((ConsentState.Subscribed, "salesforce"), (ledger!.State.ConsentState, ledger.State.StateSource));
    }
}
