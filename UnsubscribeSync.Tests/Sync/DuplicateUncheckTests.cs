using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// Under <c>Sync:SalesforceUncheck=Resubscribe</c>, one duplicate's un-check never outweighs an opt-out another
/// linked record of the same address still holds.
/// </summary>
public sealed class DuplicateUncheckTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string Email = "dup.rep@example.com";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(SyncHarness Harness, IReadOnlyList<string> Ids)> TwoConfirmedDuplicatesAsync()
    {
        var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:SalesforceUncheck"] = "Resubscribe" });
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(Email, optedOut: true), SandboxRecord.Contact(Email, optedOut: true)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        var ledger = await h.GetLedgerAsync(Email);
        Assert.All(ledger!.Links, l => Assert.Equal((LinkStatus.Synced, true), (l.Status, l.DesiredOptOut)));
        Assert.Equal(2, ledger.Links.Count);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        return (h, ids);
    }

    [Fact]
    public async Task RunNightly_UncheckOfOneDuplicateWhileAnotherHoldsTheOptOut_ReassertsIt()
    {
        // Arrange: a rep un-checks one contact; the duplicate contact of the same person still holds the opt-out.
        var (h, ids) = await TwoConfirmedDuplicatesAsync();
        await using var _ = h;
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new { HasOptedOutOfEmail = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((0, 1, 1), (report.ResubscribesImported, report.Drift, report.Written));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync(Email))!.State.ConsentState);
        Assert.True(await h.SalesforceOptOutAsync(ids[0]));
        Assert.True(await h.SalesforceOptOutAsync(ids[1]));
    }

    [Fact]
    public async Task RunNightly_UncheckOfEveryDuplicate_ResubscribesTheAddress()
    {
        // Arrange: both records of the person are un-checked before the run reads them.
        var (h, ids) = await TwoConfirmedDuplicatesAsync();
        await using var _ = h;
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new { HasOptedOutOfEmail = false }, Ct);
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[1], new { HasOptedOutOfEmail = false }, Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var report = SyncHarness.Report(run);
        Assert.Equal((1, 0, 0), (report.ResubscribesImported, report.Drift, report.Written));
        var ledger = await h.GetLedgerAsync(Email);
        Assert.Equal(ConsentState.Subscribed, ledger!.State.ConsentState);
        Assert.All(ledger.Links, l => Assert.Equal((LinkStatus.Synced, false), (l.Status, l.DesiredOptOut)));
        Assert.False(await h.SalesforceOptOutAsync(ids[0]));
        Assert.False(await h.SalesforceOptOutAsync(ids[1]));
    }
}
