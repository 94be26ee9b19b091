using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The nightly sync over Person Accounts (Account where IsPersonAccount = true, by PersonEmail), against Azurite and the sandbox.</summary>
public sealed class PersonAccountSyncIntegrationTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string PersonCustom = "MSC__Marketo_Sales_Opt_Out__pc";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<bool> PersonOptOutAsync(string id, string field = "PersonHasOptedOutOfEmail") =>
        (await sandbox.Control.GetRecordAsync(id, Ct))[field]!.GetValue<bool>();

    [Fact]
    public async Task RunNightly_PersonAccounts_ImportsASalesforceOptOutAndWritesAnOwedOne()
    {
        // Arrange: one opted out in Salesforce, one owed from a webhook, a business account that holds no person.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync(
            [
                SandboxRecord.PersonAccount("sf.person@example.com", optedOut: true),
                SandboxRecord.PersonAccount("owed.person@example.com", optedOut: false),
                new SandboxRecord("Account", Fields: new Dictionary<string, object?> { ["IsPersonAccount"] = false, ["Name"] = "Acme" }),
            ],
            Ct);
        await h.UnsubscribeAsync("evt-pa-1", "owed.person@example.com", ids[1], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal(("full", nameof(SyncPhase.Completed)), (run.Mode, run.Phase));
        Assert.Equal((2, 1, 1, false), (report.RecordsRead, report.OptOutsImported, report.Written, report.NoPersonAccounts));
        Assert.True(await PersonOptOutAsync(ids[1]));
        var imported = await h.GetLedgerAsync("sf.person@example.com");
        Assert.Equal(ConsentState.Unsubscribed, imported!.State.ConsentState);
        var link = Assert.Single(imported.Links);
        Assert.Equal((ids[0], "Account", LinkStatus.Synced, "PersonHasOptedOutOfEmail"), (link.SalesforceId, link.ObjectType, link.Status, link.SyncedField));
        Assert.All((await h.GetLedgerAsync("owed.person@example.com"))!.Links, l => Assert.Equal(LinkStatus.Synced, l.Status));
    }

    [Fact]
    public async Task RunNightly_IncrementalRunWithMarketoSalesOptOut_ImportsAnOptOutMadeOnThePcField()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut" });
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("later@example.com"), SandboxRecord.PersonAccount("owed.later@example.com")], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new Dictionary<string, object> { [PersonCustom] = true }, Ct);
        await h.UnsubscribeAsync("evt-later", "owed.later@example.com", ids[1], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal("incremental", run.Mode);
        Assert.Equal((1, 1), (report.OptOutsImported, report.Written));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("later@example.com"))!.State.ConsentState);
        Assert.True(await PersonOptOutAsync(ids[1], PersonCustom));
        Assert.False(await PersonOptOutAsync(ids[1]));
    }

    [Fact]
    public async Task RunNightly_ResolveByEmail_FindsAPersonAccountByPersonEmailAndWritesIt()
    {
        // Arrange: an unsubscribe without a Salesforce Id; the person exists only as a Person Account.
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:ResolveByEmail"] = "true" });
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("No.Id@Example.com")], Ct))[0];
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-noid", "no.id@example.com", null, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(1, SyncHarness.Report(run).Written);
        Assert.True(await PersonOptOutAsync(id));
        var record = await h.GetLedgerAsync("no.id@example.com");
        Assert.False(record!.State.AwaitingSalesforceId);
        var link = Assert.Single(record.Links);
        Assert.Equal((id, "lookup", LinkStatus.Synced), (link.SalesforceId, link.LinkedFrom, link.Status));
    }

    [Fact]
    public async Task RunNightly_OwedPersonAccountMergedAway_FollowsMasterRecordId()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("merged@example.com"), SandboxRecord.PersonAccount("merged@example.com")], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-merged", "merged@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await sandbox.Control.MergeAsync(ids[1], [ids[0]], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        await h.RunNightlyAsync();

        // Assert
        Assert.True(await PersonOptOutAsync(ids[1]));
        var links = (await h.GetLedgerAsync("merged@example.com"))!.Links.ToDictionary(l => l.SalesforceId);
        Assert.Equal((LinkStatus.Dead, ids[1]), (links[ids[0]].Status, links[ids[0]].RedirectedTo));
        Assert.Equal(LinkStatus.Synced, links[ids[1]].Status);
    }

    [Fact]
    public async Task RunNightly_OrgWithoutPersonAccounts_ReportsItBlocksAccountLinksOnceAndSyncsTheRest()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { PersonAccountsEnabled = false }, Ct);
        var ids = await sandbox.Control.CreateRecordsAsync([new SandboxRecord("Account"), SandboxRecord.Contact("contact@example.com")], Ct);
        var now = h.Storage.Time.GetUtcNow();
        await h.UnsubscribeAsync("evt-account", "account@example.com", ids[0], now);
        await h.UnsubscribeAsync("evt-contact", "contact@example.com", ids[1], now);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var first = await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromDays(1));
        var second = await h.RunNightlyAsync();

        // Assert: the run completes and says so; the Account link is blocked with the reason once, then left alone.
        var (r1, r2) = (SyncHarness.Report(first), SyncHarness.Report(second));
        Assert.Equal(nameof(SyncPhase.Completed), first.Phase);
        Assert.True(r1.NoPersonAccounts);
        Assert.Equal((1, 1, 0), (r1.Written, r1.Blocked, r1.Failed));
        Assert.Equal((0, 1), (r2.Blocked, r2.PersonAccountLinksSkipped));
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
        var link = Assert.Single((await h.GetLedgerAsync("account@example.com"))!.Links);
        Assert.Equal((LinkStatus.Blocked, SalesforceWriter.NoPersonAccountsCode), (link.Status, link.LastErrorCode));
        Assert.Contains("the org has no Person Accounts", link.LastErrorMessage, StringComparison.Ordinal);
    }
}
