using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Tests.Infrastructure;
using UnsubscribeSync.Tests.Sync;

namespace UnsubscribeSync.Tests.Push;

/// <summary>
/// Two pushes for the same link, the older one's Salesforce write held by a gate until the newer one has
/// finished, against Azurite and the sandbox. Nothing here depends on timing: the gate decides the order.
/// </summary>
public sealed class PushRaceTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string Email = "race@example.com";
    private static readonly TimeSpan GateWait = TimeSpan.FromMinutes(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<SyncHarness> CreateHarnessAsync(WriteGate gate, params (string Key, string Value)[] settings) => SyncHarness.CreateAsync(
        sandbox,
        settings.ToDictionary(s => s.Key, s => (string?)s.Value),
        configureServices: services => services.ConfigureHttpClientDefaults(client => client.AddHttpMessageHandler(() => new GateHandler(gate))));

    private static async Task<string> TakePushMessageAsync(SyncHarness h)
    {
        var message = Assert.Single((await h.Storage.PushQueueClient.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct)).Value);
        await h.Storage.PushQueueClient.DeleteMessageAsync(message.MessageId, message.PopReceipt, Ct);
        return message.Body.ToString();
    }

    private static async Task<RecordLinkEntity> LinkAsync(SyncHarness h, string id) =>
        (await h.GetLedgerAsync(Email))!.Links.Single(l => l.SalesforceId == id);

    private static Task AcceptAsync(SyncHarness h, string eventId, ConsentEventType type, string? salesforceId) =>
        h.UnsubscribeAsync(eventId, Email, salesforceId, h.Storage.Time.GetUtcNow(), type);

    [Fact]
    public async Task PushAsync_StaleResubscribeWriteLandsAfterNewerUnsubscribe_SalesforceEndsOptedOutAndNightlyKeepsIt()
    {
        // Arrange: the address is unsubscribed and its contact confirmed.
        var gate = new WriteGate();
        await using var h = await CreateHarnessAsync(gate, ("Sync:PushResubscribes", "true"), ("Sync:SalesforceUncheck", "Resubscribe"));
        var push = h.Services.GetRequiredService<IPushService>();
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(Email, optedOut: false)], Ct))[0];
        await AcceptAsync(h, "evt-unsub-1", ConsentEventType.Unsubscribe, id);
        Assert.Equal(PushOutcome.Synced, await push.PushAsync(await TakePushMessageAsync(h), 1, Ct));
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));

        // An admin resubscribes the address; its push is held inside its PATCH of false.
        await AcceptAsync(h, "evt-resub", ConsentEventType.Resubscribe, id);
        gate.Arm();
        var resubscribePush = push.PushAsync(await TakePushMessageAsync(h), 1, Ct);
        await gate.FirstWriteArrived.Task.WaitAsync(GateWait, Ct); // bounded so a broken gate fails the test instead of hanging the suite
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Act: the person unsubscribes again; that push completes first, then the held resubscribe write lands.
        await AcceptAsync(h, "evt-unsub-2", ConsentEventType.Unsubscribe, id);
        var unsubscribeOutcome = await push.PushAsync(await TakePushMessageAsync(h), 1, Ct);
        gate.Release();
        await resubscribePush.WaitAsync(GateWait, Ct);

        // Assert: Salesforce holds the newer unsubscribe, and the ledger says so.
        Assert.Equal(PushOutcome.Synced, unsubscribeOutcome);
        Assert.True(await h.SalesforceOptOutAsync(id));
        var link = await LinkAsync(h, id);
        Assert.Equal((LinkStatus.Synced, true, "evt-unsub-2"), (link.Status, link.DesiredOptOut, link.SyncedEventId));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync(Email))!.State.ConsentState);

        // The next night does not read our own stale write back as a newer un-check.
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var run = await h.RunNightlyAsync();
        Assert.Equal(0, SyncHarness.Report(run).ResubscribesImported);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync(Email))!.State.ConsentState);
        Assert.True(await h.SalesforceOptOutAsync(id));
    }

    [Fact]
    public async Task PushAsync_WorkerDiesAfterStaleWriteLanded_RedeliveryReadsSalesforceAndWritesTheNewerUnsubscribe()
    {
        // Arrange: as above, but the held resubscribe write lands and its worker dies before recording anything.
        var gate = new WriteGate { DieAfterHeldWrite = true };
        await using var h = await CreateHarnessAsync(gate, ("Sync:PushResubscribes", "true"), ("Sync:SalesforceUncheck", "Resubscribe"));
        var push = h.Services.GetRequiredService<IPushService>();
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(Email, optedOut: false)], Ct))[0];
        await AcceptAsync(h, "evt-unsub-1", ConsentEventType.Unsubscribe, id);
        Assert.Equal(PushOutcome.Synced, await push.PushAsync(await TakePushMessageAsync(h), 1, Ct));
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        await AcceptAsync(h, "evt-resub", ConsentEventType.Resubscribe, id);
        gate.Arm();
        var resubscribeMessage = await TakePushMessageAsync(h);
        var resubscribePush = push.PushAsync(resubscribeMessage, 1, Ct);
        await gate.FirstWriteArrived.Task.WaitAsync(GateWait, Ct); // bounded so a broken gate fails the test instead of hanging the suite
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await AcceptAsync(h, "evt-unsub-2", ConsentEventType.Unsubscribe, id);
        Assert.Equal(PushOutcome.Synced, await push.PushAsync(await TakePushMessageAsync(h), 1, Ct));
        gate.Release();
        await Assert.ThrowsAnyAsync<Exception>(() => resubscribePush.WaitAsync(GateWait, Ct));
        var leftBehind = await h.SalesforceOptOutAsync(id);

        // Act: the queue delivers the resubscribe's message again.
        var redelivered = await push.PushAsync(resubscribeMessage, 2, Ct);

        // Assert: the stale false was read, recorded as drift and overwritten; before, a confirmed link ended the message.
        Assert.False(leftBehind);
        Assert.Equal(PushOutcome.Synced, redelivered);
        Assert.True(await h.SalesforceOptOutAsync(id));
        var link = await LinkAsync(h, id);
        Assert.Equal((LinkStatus.Synced, true), (link.Status, link.DesiredOptOut));
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var run = await h.RunNightlyAsync();
        Assert.Equal(0, SyncHarness.Report(run).ResubscribesImported);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync(Email))!.State.ConsentState);
    }

    [Fact]
    public async Task PushAsync_RedeliveredMessageOfConfirmedLink_ReadsOnceAndWritesNothing()
    {
        // Arrange
        await using var h = await CreateHarnessAsync(new WriteGate());
        var push = h.Services.GetRequiredService<IPushService>();
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(Email, optedOut: false)], Ct))[0];
        await AcceptAsync(h, "evt-unsub", ConsentEventType.Unsubscribe, id);
        var message = await TakePushMessageAsync(h);
        Assert.Equal(PushOutcome.Synced, await push.PushAsync(message, 1, Ct));
        var before = await sandbox.Control.GetStatsAsync(Ct);

        // Act: the worker's completion of the message was lost, so it comes again.
        var outcome = await push.PushAsync(message, 2, Ct);

        // Assert
        var after = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(PushOutcome.AlreadySynced, outcome);
        Assert.Equal(before.Query + 1, after.Query);
        Assert.Equal(before.Total + 1, after.Total);
    }

    [Fact]
    public async Task PushAsync_ResubscribedLeadMergedIntoOptedOutLead_SurvivorTakesTheAddressStateNotTheLeadsValue()
    {
        // Arrange: the lead was merged into an opted-out lead; a resubscribe naming the lead is pushed, and its
        // write (answered ENTITY_IS_DELETED) is held while a newer unsubscribe of the address is recorded.
        var gate = new WriteGate();
        await using var h = await CreateHarnessAsync(gate, ("Sync:PushResubscribes", "true"));
        var push = h.Services.GetRequiredService<IPushService>();
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead(Email, optedOut: false), SandboxRecord.Lead(Email, optedOut: true)], Ct);
        var (lead, survivor) = (ids[0], ids[1]);
        await sandbox.Control.MergeAsync(survivor, [lead], Ct);
        await AcceptAsync(h, "evt-resub", ConsentEventType.Resubscribe, lead);
        gate.Arm();
        var resubscribePush = push.PushAsync(await TakePushMessageAsync(h), 1, Ct);
        await gate.FirstWriteArrived.Task.WaitAsync(GateWait, Ct); // bounded so a broken gate fails the test instead of hanging the suite
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        await AcceptAsync(h, "evt-unsub", ConsentEventType.Unsubscribe, null);

        // Act: the held write comes back "deleted"; the writer follows the merge to the survivor.
        gate.Release();
        await resubscribePush.WaitAsync(GateWait, Ct);
        foreach (var message in (await h.Storage.PushQueueClient.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct)).Value)
        {
            await push.PushAsync(message.Body.ToString(), message.DequeueCount, Ct);
        }

        // Assert: the survivor was linked with the address's current state (opted out), never the lead's old value.
        Assert.True(await h.SalesforceOptOutAsync(survivor));
        var link = await LinkAsync(h, survivor);
        Assert.Equal(("redirect", true), (link.LinkedFrom, link.DesiredOptOut));
        Assert.Equal(LinkStatus.Dead, (await LinkAsync(h, lead)).Status);
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync(Email))!.State.ConsentState);
    }

    /// <summary>Once armed, holds the first record write (a PATCH of sobjects) until released; later writes pass.</summary>
    private sealed class WriteGate
    {
        private int _armed;
        private int _writes;

        public TaskCompletionSource FirstWriteArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The held write lands in Salesforce, then its worker dies before it hears the answer.</summary>
        public bool DieAfterHeldWrite { get; init; }

        public void Arm() => Volatile.Write(ref _armed, 1);

        public void Release() => Released.SetResult();

        /// <summary>Holds the first armed write until released; true for that write.</summary>
        public async Task<bool> PassAsync(CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _armed) == 1 && Interlocked.Increment(ref _writes) == 1)
            {
                FirstWriteArrived.SetResult();
                await Released.Task.WaitAsync(GateWait, cancellationToken);
                return true;
            }

            return false;
        }
    }

    private sealed class GateHandler(WriteGate gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var held = request.Method == HttpMethod.Patch
                && request.RequestUri!.AbsolutePath.Contains("/sobjects", StringComparison.Ordinal)
                && await gate.PassAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            if (held && gate.DieAfterHeldWrite)
            {
                response.Dispose();
                throw new HttpRequestException("The worker died after its write reached Salesforce.");
            }

            return response;
        }
    }
}
