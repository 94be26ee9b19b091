using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// Two copies of one batch: a stalled run is resumed while one of its batches is still running. The
/// running copy is held inside its Salesforce write by a gate, so each test acts at a chosen point.
/// </summary>
public sealed class SyncBatchClaimTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TickAsync_StalledRunWithBatchStillRunning_DoesNotQueueItAgain()
    {
        // Arrange
        var gate = new WriteGate();
        await using var h = await CreateHarnessAsync(gate);
        var (ids, write, before) = await ResumeStalledWriteAsync(h);
        var copyA = h.Services.GetRequiredService<ISyncBatchRunner>().RunAsync(write.ToJson(), 1, Ct);
        await gate.FirstWriteArrived.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act: a second tick (a manual run, a catch-up) while the resumed batch is mid-write.
        var outcome = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(false, Ct);
        var queued = (await h.Queue.PeekMessagesAsync(32, Ct)).Value.Length;
        gate.ReleaseFirstWrite.SetResult();
        await copyA;
        await h.DrainAsync();

        // Assert
        Assert.Equal((NightlySyncOutcome.Waiting, 0), (outcome, queued));
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(ids.Count, SyncHarness.Report(run).Written);
        Assert.Equal(1, Writes(await sandbox.Control.GetStatsAsync(Ct)) - Writes(before));
    }

    [Fact]
    public async Task RunAsync_BatchClaimedByAnotherCopy_StandsDownAndClaimantFinishes()
    {
        // Arrange
        var gate = new WriteGate();
        await using var h = await CreateHarnessAsync(gate);
        var (ids, write, before) = await ResumeStalledWriteAsync(h);
        var runner = h.Services.GetRequiredService<ISyncBatchRunner>();
        var copyA = runner.RunAsync(write.ToJson(), 1, Ct);
        await gate.FirstWriteArrived.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite

        // Act: a second copy of the same batch (an earlier resume queued it too) is delivered meanwhile.
        await runner.RunAsync(write.ToJson(), 1, Ct);
        var writesWhileHeld = Writes(await sandbox.Control.GetStatsAsync(Ct)) - Writes(before);
        var doneWhileHeld = (await h.Runs.GetBatchAsync(write.RunId, write.BatchId, Ct))!.Done;
        gate.ReleaseFirstWrite.SetResult();
        await copyA;
        await h.DrainAsync();

        // Assert
        Assert.Equal((0, false), (writesWhileHeld, doneWhileHeld));
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(ids.Count, SyncHarness.Report(run).Written);
        Assert.Equal(1, Writes(await sandbox.Control.GetStatsAsync(Ct)) - Writes(before));
    }

    [Fact]
    public async Task TickAsync_StalledBatchWhoseClaimExpired_IsQueuedAgainAndFinished()
    {
        // Arrange: the copy running the batch hangs inside its write and never comes back.
        var gate = new WriteGate();
        await using var h = await CreateHarnessAsync(gate);
        var (ids, write, before) = await ResumeStalledWriteAsync(h);
        using var hung = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var copyA = h.Services.GetRequiredService<ISyncBatchRunner>().RunAsync(write.ToJson(), 1, hung.Token);
        await gate.FirstWriteArrived.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        await h.AdvanceAsync(TimeSpan.FromMinutes(31));

        // Act
        var outcome = await h.Services.GetRequiredService<INightlySyncService>().TickAsync(true, Ct);
        await h.DrainAsync();
        await hung.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copyA);

        // Assert
        Assert.Equal(NightlySyncOutcome.Resumed, outcome);
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(ids.Count, SyncHarness.Report(run).Written);
        Assert.Equal(1, Writes(await sandbox.Control.GetStatsAsync(Ct)) - Writes(before));
        foreach (var id in ids)
        {
            Assert.True(await h.SalesforceOptOutAsync(id));
        }
    }

    [Fact]
    public async Task RunAsync_AttemptFails_GivesItsClaimBackSoTheQueueRetryRunsIt()
    {
        // Arrange: the first write cannot reach Salesforce, so the first attempt throws and the queue retries the message.
        var gate = new WriteGate { FailFirstWrite = true };
        await using var h = await CreateHarnessAsync(gate);
        var (ids, write, before) = await ResumeStalledWriteAsync(h);
        var runner = h.Services.GetRequiredService<ISyncBatchRunner>();
        await Assert.ThrowsAnyAsync<Exception>(() => runner.RunAsync(write.ToJson(), 1, Ct));

        // Act: the retry, a few seconds later (well inside the claim's lifetime).
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        await runner.RunAsync(write.ToJson(), 2, Ct);
        await h.DrainAsync();

        // Assert
        Assert.True((await h.Runs.GetBatchAsync(write.RunId, write.BatchId, Ct))!.Done);
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(ids.Count, SyncHarness.Report(run).Written);
        Assert.Equal(1, Writes(await sandbox.Control.GetStatsAsync(Ct)) - Writes(before));
    }

    private static int Writes(SandboxStats stats) => stats.Sobject + stats.Composite;

    // Retention off: its batches would share the outbound phase with the one write these tests follow.
    private Task<SyncHarness> CreateHarnessAsync(WriteGate gate) => SyncHarness.CreateAsync(
        sandbox,
        new Dictionary<string, string?> { ["Retention:IntakeDays"] = "0", ["Retention:SyncRunsDays"] = "0" },
        configureServices: services => services.ConfigureHttpClientDefaults(client => client.AddHttpMessageHandler(() => new GateHandler(gate))));

    /// <summary>
    /// A run whose one write batch (three owed opt-outs) lost its queue message, stalled, and was queued again by a
    /// tick; that message is taken off the queue and returned, as a worker would hold it.
    /// </summary>
    private async Task<(IReadOnlyList<string> Ids, SyncBatchMessage Write, SandboxStats Before)> ResumeStalledWriteAsync(SyncHarness h)
    {
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 3).Select(i => SandboxRecord.Contact($"claim{i}@example.com", optedOut: false)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await SyncSeeding.SeedLedgerAsync(h.LedgerTable, ids.Select((id, i) => ($"claim{i}@example.com", id, LinkStatus.Pending)), h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.TickAsync();
        // The intake sweep, an inbound page per object (Contact, Lead, person Account) and the outbound scan run; the write waits.
        Assert.Equal(5, await h.DrainAsync(maxBatches: 5));
        Assert.Single((await h.Queue.PeekMessagesAsync(32, Ct)).Value);
        await h.Queue.ClearMessagesAsync(Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(31));
        Assert.Equal(NightlySyncOutcome.Resumed, await h.Services.GetRequiredService<INightlySyncService>().TickAsync(true, Ct));
        var message = Assert.Single((await h.Queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct)).Value);
        await h.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, Ct);
        return (ids, SyncBatchMessage.FromJson(message.MessageText), await sandbox.Control.GetStatsAsync(Ct));
    }

    /// <summary>Holds the first sObject Collections write until the test lets it through (or fails it); later writes pass.</summary>
    private sealed class WriteGate
    {
        private int _writes;

        public bool FailFirstWrite { get; init; }

        public TaskCompletionSource FirstWriteArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseFirstWrite { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsFirstWrite() => Interlocked.Increment(ref _writes) == 1;
    }

    private sealed class GateHandler(WriteGate gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // A record write: one record goes out as a PATCH of sobjects/{type}/{id}, more as a collections PATCH.
            if (request.Method == HttpMethod.Patch
                && request.RequestUri!.AbsolutePath.Contains("/sobjects", StringComparison.Ordinal)
                && gate.IsFirstWrite())
            {
                gate.FirstWriteArrived.SetResult();
                if (gate.FailFirstWrite)
                {
                    throw new HttpRequestException(HttpRequestError.ConnectionError, "The test's gate refused the connection.");
                }

                await gate.ReleaseFirstWrite.Task.WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
