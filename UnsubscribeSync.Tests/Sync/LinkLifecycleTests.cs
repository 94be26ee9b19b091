using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// Issue 11, defects 3 to 5, end to end: a record that comes back is written again, a lookup by email that
/// fails half-way is finished on the retry, and an opt-out is not deferred for ever.
/// </summary>
public sealed class LinkLifecycleTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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
}
