using System.Net;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// Issue 11, defects 3 to 5, end to end: a record that comes back is written again, a lookup by email that
/// fails half-way is finished on the retry, and an opt-out is not deferred for ever.
/// </summary>
public sealed class LinkLifecycleTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    [Fact]
    public async Task RunNightly_DeadRecordUndeleted_RevivesLinkAndWritesOptOut()
    {
        // Arrange: the record is in the Recycle Bin when the owed opt-out is written, so its link dies.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("undeleted@example.com", optedOut: false)], Ct))[0];
        await h.UnsubscribeAsync("evt-undeleted", "undeleted@example.com", id, h.Storage.Time.GetUtcNow());
        await sandbox.Control.UpdateRecordAsAdminAsync(id, new { IsDeleted = true }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        var dead = Assert.Single((await h.GetLedgerAsync("undeleted@example.com"))!.Links);
        await sandbox.Control.UpdateRecordAsAdminAsync(id, new { IsDeleted = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act: the incremental run reads the restored record.
        await h.RunNightlyAsync();

        // Assert
        Assert.Equal(LinkStatus.Dead, dead.Status);
        Assert.True(await h.SalesforceOptOutAsync(id));
        Assert.Equal(LinkStatus.Synced, Assert.Single((await h.GetLedgerAsync("undeleted@example.com"))!.Links).Status);
    }

    [Fact]
    public async Task RunNightly_RecordNotReturnedByQueryAll_FailsForRetryNotDead()
    {
        // Arrange: an Id the integration user cannot see (hidden by sharing, or not yet visible) is never returned.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("someone@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        var hidden = SalesforceId.Parse("0030000000HIDDN").Value;
        await h.UnsubscribeAsync("evt-hidden", "hidden@example.com", hidden, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        await h.RunNightlyAsync();

        // Assert
        var link = Assert.Single((await h.GetLedgerAsync("hidden@example.com"))!.Links);
        Assert.Equal((LinkStatus.Failed, "NOT_FOUND_OR_NOT_VISIBLE"), (link.Status, link.LastErrorCode));
    }

    [Fact]
    public async Task RunNightly_LeadLookupFailsAfterContactsLinked_RetryLinksTheLeads()
    {
        // Arrange: the address matches a Contact and a Lead; the Lead query fails once the Contact is linked.
        var gate = new LeadLookupGate();
        await using var h = await SyncHarness.CreateAsync(
            sandbox,
            Settings(("Sync:ResolveByEmail", "true")),
            configureServices: services => services.ConfigureHttpClientDefaults(client => client.AddHttpMessageHandler(() => new LeadLookupHandler(gate))));
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("both@example.com", optedOut: false), SandboxRecord.Lead("both@example.com", optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-both", "both@example.com", null, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        gate.Failing = true;
        await h.TickAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => h.DrainAsync());
        await h.DrainAsync();
        var halfWay = (await h.GetLedgerAsync("both@example.com"))!;

        // Act: Salesforce answers again; the stalled run is resumed and its lookup batch runs once more.
        gate.Failing = false;
        await h.AdvanceAsync(TimeSpan.FromMinutes(31));
        var resumed = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(true, Ct);
        await h.DrainAsync();

        // Assert
        Assert.Equal(NightlySyncOutcome.Resumed, resumed);
        Assert.True(halfWay.State.AwaitingSalesforceId);
        Assert.Equal([ids[0]], halfWay.Links.Select(l => l.SalesforceId));
        var ledger = (await h.GetLedgerAsync("both@example.com"))!;
        Assert.False(ledger.State.AwaitingSalesforceId);
        Assert.Equal(ids.Order(), ledger.Links.Select(l => l.SalesforceId).Order());
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
    }

    [Fact]
    public async Task RunNightly_AboveBudgetLongerThanMaxDeferral_WritesOverdueOptOut()
    {
        // Arrange: the org stays above the budget share night after night.
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings(("Sync:MaxDeferral", "12:00:00")));
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("overdue@example.com", optedOut: false)], Ct))[0];
        await h.UnsubscribeAsync("evt-overdue", "overdue@example.com", id, h.Storage.Time.GetUtcNow());
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 800 }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var first = await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromHours(12));

        // Act
        var second = await h.RunNightlyAsync();

        // Assert
        Assert.Equal(1, SyncHarness.Report(first).Deferred);
        Assert.Equal(0, SyncHarness.Report(first).Written);
        Assert.Equal(1, SyncHarness.Report(second).Written);
        Assert.True(await h.SalesforceOptOutAsync(id));
        Assert.Equal(LinkStatus.Synced, Assert.Single((await h.GetLedgerAsync("overdue@example.com"))!.Links).Status);
    }

    private sealed class LeadLookupGate
    {
        public volatile bool Failing;
    }

    /// <summary>Fails the lookup by email of Leads while armed, as an unavailable org would.</summary>
    private sealed class LeadLookupHandler(LeadLookupGate gate) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = WebUtility.UrlDecode(request.RequestUri?.Query ?? string.Empty);
            if (gate.Failing && query.Contains("FROM Lead WHERE Email IN", StringComparison.Ordinal))
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError, "The test refused the Lead lookup.");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
