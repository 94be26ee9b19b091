using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// Issue 14 part 2: the field check's describes are kept in the SyncState table across runs and processes, so a
/// nightly run spends describe calls only when the kept ones are older than a day or Salesforce shows them wrong.
/// Every run here is a new service graph over the same storage (a new process), so nothing is cached in memory.
/// </summary>
public sealed class FieldCheckKeptTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string Custom = "MSC__Marketo_Sales_Opt_Out__c";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> CustomTarget => new() { ["Sync:TargetField"] = "MarketoSalesOptOut" };

    private async Task<bool> CustomOptOutAsync(string id) =>
        (await sandbox.Control.GetRecordAsync(id, Ct))[Custom]?.GetValue<bool>() ?? false;

    /// <summary>A first run that describes Contact, Lead and Account and keeps them; returns a Contact and a Lead to owe opt-outs to.</summary>
    private async Task<(SyncHarness Harness, string Contact, string Lead)> FirstRunAsync()
    {
        var h = await SyncHarness.CreateAsync(sandbox, CustomTarget);
        var ids = await sandbox.Control.CreateRecordsAsync(
            [SandboxRecord.Contact("kept.contact@example.com", optedOut: false), SandboxRecord.Lead("kept.lead@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        var before = await sandbox.Control.GetStatsAsync(Ct);
        await using (var first = h.Reconfigure(CustomTarget))
        {
            await first.RunNightlyAsync();
        }

        var after = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(3, after.Describe - before.Describe);
        return (h, ids[0], ids[1]);
    }

    private async Task<(SyncRunEntity Run, int Describes, int Composite)> RunInNewProcessAsync(SyncHarness h)
    {
        var before = await sandbox.Control.GetStatsAsync(Ct);
        await using var next = h.Reconfigure(CustomTarget);
        var run = await next.RunNightlyAsync();
        var after = await sandbox.Control.GetStatsAsync(Ct);
        return (run, after.Describe - before.Describe, after.Composite - before.Composite);
    }

    private async Task<FieldCheckEntity> KeptAsync(SyncHarness h, string sObject) =>
        (await h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.SyncStateTable)
            .GetEntityAsync<FieldCheckEntity>(FieldCheckEntity.PartitionValue, sObject, cancellationToken: Ct)).Value;

    [Fact]
    public async Task RunNightly_SecondRunWithinADay_SpendsNoDescribeCalls()
    {
        // Arrange
        var (h, contact, _) = await FirstRunAsync();
        await using var harness = h;
        await h.AdvanceAsync(TimeSpan.FromHours(23));
        await h.UnsubscribeAsync("evt-kept", "kept.contact@example.com", contact, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var (run, describes, _) = await RunInNewProcessAsync(h);

        // Assert: the write still goes out on the kept field check.
        Assert.Equal(0, describes);
        Assert.True(SyncHarness.Report(run).Written >= 1);
        Assert.True(await CustomOptOutAsync(contact));
    }

    [Fact]
    public async Task RunNightly_KeptCheckOlderThanADay_AsksAgainAndKeepsItWhenUnchanged()
    {
        // Arrange
        var (h, _, _) = await FirstRunAsync();
        await using var harness = h;
        var validAsOf = (await KeptAsync(h, "Contact")).ValidAsOf;
        await h.AdvanceAsync(TimeSpan.FromHours(25));

        // Act
        var (_, describes, _) = await RunInNewProcessAsync(h);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var (_, describesAfter, _) = await RunInNewProcessAsync(h);

        // Assert: one conditional describe per object (answered 304, so what Salesforce last described is still the
        // one kept, now confirmed), and none on the run after it.
        Assert.Equal(3, describes);
        var kept = await KeptAsync(h, "Contact");
        Assert.Equal(validAsOf, kept.ValidAsOf);
        Assert.Equal(h.Storage.Time.GetUtcNow() - TimeSpan.FromHours(1), kept.CheckedAt, TimeSpan.FromMinutes(5));
        Assert.Equal(0, describesAfter);
    }

    [Fact]
    public async Task RunNightly_FieldMadeReadOnlyAndCheckOlderThanADay_DescribesAgainAndBlocksTheWrite()
    {
        // Arrange: the admin removes Edit on the Contact field; Salesforce moves Contact's Last-Modified.
        var (h, contact, _) = await FirstRunAsync();
        await using var harness = h;
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(25));
        await h.UnsubscribeAsync("evt-ro", "kept.contact@example.com", contact, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var (_, describes, composite) = await RunInNewProcessAsync(h);

        // Assert: described again (a 200 for Contact), and the write is blocked, not attempted, as any failing check blocks.
        Assert.InRange(describes, 3, 6);
        Assert.Equal(0, composite);
        Assert.False(await CustomOptOutAsync(contact));
        var link = (await h.GetLedgerAsync("kept.contact@example.com"))!.Links.Single();
        Assert.Equal((LinkStatus.Blocked, SalesforceWriter.FieldUnusableCode), (link.Status, link.LastErrorCode));
        var kept = await KeptAsync(h, "Contact");
        Assert.Contains("\"Updateable\":false", kept.FieldsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunNightly_FieldDisappearedWithinADay_NoticedByTheQueryAndWritesBlocked()
    {
        // Arrange: the field vanishes from Contact (package removed, or field-level security hides it) an hour after the
        // first run, while the kept check is still trusted without asking.
        var (h, contact, lead) = await FirstRunAsync();
        await using var harness = h;
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnContact = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.UnsubscribeAsync("evt-gone-c", "kept.contact@example.com", contact, h.Storage.Time.GetUtcNow());
        await h.UnsubscribeAsync("evt-gone-l", "kept.lead@example.com", lead, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act
        var (run, describes, _) = await RunInNewProcessAsync(h);

        // Assert: Contact's query fails with INVALID_FIELD, the check is made afresh and finds the field gone, so the
        // Contact write is blocked (not attempted) while the Lead is written; the watermark stays for the missed page.
        Assert.InRange(describes, 3, 6);
        Assert.True(run.InboundIncomplete);
        var contactLink = (await h.GetLedgerAsync("kept.contact@example.com"))!.Links.Single();
        Assert.Equal((LinkStatus.Blocked, SalesforceWriter.FieldUnusableCode), (contactLink.Status, contactLink.LastErrorCode));
        Assert.True(await CustomOptOutAsync(lead));
        Assert.DoesNotContain(Custom, (await KeptAsync(h, "Contact")).FieldsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunNightly_FailingKeptCheckFixedWithinADay_DescribedAfreshAndWritten()
    {
        // Arrange: a run finds the Contact field read-only and blocks; the admin fixes it within the hour.
        var (h, contact, _) = await FirstRunAsync();
        await using var harness = h;
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(25));
        await h.UnsubscribeAsync("evt-fix", "kept.contact@example.com", contact, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await RunInNewProcessAsync(h);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = true }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var (_, describes, _) = await RunInNewProcessAsync(h);

        // Assert: a failing check is never taken from what was kept, so the fix is seen on the next run.
        Assert.Equal(3, describes);
        Assert.True(await CustomOptOutAsync(contact));
        var link = (await h.GetLedgerAsync("kept.contact@example.com"))!.Links.Single();
        Assert.Equal(LinkStatus.Synced, link.Status);
    }
}
