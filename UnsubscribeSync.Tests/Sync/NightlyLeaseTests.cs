using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// The run lease between two ticks: a tick takes the lease before it writes its run row (it finishes
/// half-done intakes in between), so another tick can see a lease naming a run that has no row yet.
/// </summary>
public sealed class NightlyLeaseTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TickAsync_LeaseHeldByRunWithoutRowYet_Waits()
    {
        // Arrange: tick A has taken the lease and has not written its run row yet.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        Assert.True(await h.Runs.TryAcquireLeaseAsync(await h.Runs.GetLeaseAsync(Ct), "run-of-tick-a", Ct));
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act: tick B.
        var outcome = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(false, Ct);

        // Assert
        Assert.Equal(NightlySyncOutcome.Waiting, outcome);
        Assert.Equal("run-of-tick-a", (await h.Runs.GetLeaseAsync(Ct))!.RunId);
        Assert.Empty(await h.Runs.ListRunsAsync(Ct));
    }

    [Fact]
    public async Task TickAsync_LeaseWithoutRunRowOlderThanStallLimit_IsTakenOver()
    {
        // Arrange: tick A took the lease and died before writing its run row.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        Assert.True(await h.Runs.TryAcquireLeaseAsync(await h.Runs.GetLeaseAsync(Ct), "run-of-dead-tick", Ct));
        await h.AdvanceAsync(TimeSpan.FromMinutes(31));

        // Act
        var outcome = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(true, Ct);

        // Assert
        Assert.Equal(NightlySyncOutcome.Started, outcome);
        var run = Assert.Single(await h.Runs.ListRunsAsync(Ct));
        Assert.Equal(run.PartitionKey, (await h.Runs.GetLeaseAsync(Ct))!.RunId);
    }
}
