using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// A batch's hand-off after its result committed: its children must reach the queue, and a message that ends in the
/// poison queue must still be recorded, both within the same run (the timer ticks once a night).
/// </summary>
public sealed class SyncBatchHandOffTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunAsync_ChildSendFailsAfterCommit_RedeliveryQueuesChildrenAndRunCompletes()
    {
        // Arrange: three owed opt-outs; the first phase's last batch commits, then sending the outbound scan it planned fails.
        var flaky = new FlakyQueue();
        await using var h = await SyncHarness.CreateAsync(sandbox, configureServices: services =>
        {
            services.AddSingleton<SyncBatchQueue>();
            services.AddSingleton<ISyncBatchQueue>(sp => flaky.Over(sp.GetRequiredService<SyncBatchQueue>()));
        });
        var ids = await SeedOwedAsync(h, "handoff");
        await h.TickAsync();
        // The first phase: the intake sweep and one inbound page per object (Contact, Lead, person Account).
        var first = await ReceiveAsync(h, FirstPhaseBatches);
        var runner = h.Services.GetRequiredService<ISyncBatchRunner>();
        foreach (var message in first[..^1])
        {
            await runner.RunAsync(message.MessageText, 1, Ct);
        }

        flaky.FailNextSend = true;
        await Assert.ThrowsAsync<IOException>(() => runner.RunAsync(first[^1].MessageText, 1, Ct));
        Assert.Empty((await h.Queue.PeekMessagesAsync(32, Ct)).Value);

        // Act: the queue delivers the failed message again (its visibility lapsed), then the workers drain the queue.
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        await runner.RunAsync(first[^1].MessageText, 2, Ct);
        await h.DrainAsync();

        // Assert
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.Equal(run.BatchesPlanned, run.BatchesDone);
        Assert.Equal(ids.Count, SyncHarness.Report(run).Written);
        foreach (var id in ids)
        {
            Assert.True(await h.SalesforceOptOutAsync(id));
        }
    }

    [Fact]
    public async Task RecordSyncBatchFailure_InboundPagePoisoned_RecordsAbandonedRunClosesAndWatermarkStays()
    {
        // Arrange: one inbound page's message exhausted its attempts (its worker kept dying) and sits in the poison queue.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var ids = await SeedOwedAsync(h, "poison");
        var watermark = (await h.Runs.GetWatermarkAsync(Ct))!.Watermark;
        await h.TickAsync();
        var first = await ReceiveAsync(h, FirstPhaseBatches);
        var kinds = new List<string>();
        foreach (var message in first)
        {
            var batch = SyncBatchMessage.FromJson(message.MessageText);
            kinds.Add((await h.Runs.GetBatchAsync(batch.RunId, batch.BatchId, Ct))!.Kind);
        }

        var inbound = first.Where((_, i) => kinds[i] == nameof(SyncWorkKind.Inbound)).ToList();
        foreach (var message in first.Where(m => m != inbound[1]))
        {
            await h.Services.GetRequiredService<ISyncBatchRunner>().RunAsync(message.MessageText, 1, Ct);
        }

        var poisoned = QueuesModelFactory.QueueMessage("poison-1", "receipt", inbound[1].MessageText, 1);

        // Act
        await new RecordSyncBatchFailure(h.Services.GetRequiredService<ISyncBatchRunner>()).Run(poisoned, Ct);
        await h.DrainAsync();

        // Assert
        var run = await h.LatestRunAsync();
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        Assert.False(run.WatermarkAdvanced);
        Assert.Equal(watermark, (await h.Runs.GetWatermarkAsync(Ct))!.Watermark);
        var report = SyncHarness.Report(run);
        Assert.Equal((1, ids.Count), (report.BatchesAbandoned, report.Written));
    }

    private async Task<IReadOnlyList<string>> SeedOwedAsync(SyncHarness h, string prefix)
    {
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 3).Select(i => SandboxRecord.Contact($"{prefix}{i}@example.com", optedOut: false)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await SyncSeeding.SeedLedgerAsync(h.LedgerTable, ids.Select((id, i) => ($"{prefix}{i}@example.com", id, LinkStatus.Pending)), h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        return ids;
    }

    /// <summary>Takes <paramref name="count"/> messages off the queue, as workers holding them would.</summary>
    // The sandbox org has Person Accounts, so the first phase reads Account too.
    private const int FirstPhaseBatches = 4;

    private static async Task<QueueMessage[]> ReceiveAsync(SyncHarness h, int count)
    {
        var messages = (await h.Queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct)).Value;
        Assert.Equal(count, messages.Length);
        foreach (var message in messages)
        {
            await h.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, Ct);
        }

        return messages;
    }

    /// <summary>The real queue, except that one send can be made to fail (the worker's connection drops).</summary>
    private sealed class FlakyQueue : ISyncBatchQueue
    {
        private ISyncBatchQueue? _inner;

        public bool FailNextSend { get; set; }

        public FlakyQueue Over(ISyncBatchQueue inner)
        {
            _inner = inner;
            return this;
        }

        public Task SendAsync(SyncBatchMessage batch, CancellationToken cancellationToken)
        {
            if (FailNextSend)
            {
                FailNextSend = false;
                throw new IOException("The test dropped the queue connection.");
            }

            return _inner!.SendAsync(batch, cancellationToken);
        }
    }
}
