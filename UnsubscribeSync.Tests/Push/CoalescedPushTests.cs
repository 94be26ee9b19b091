using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Push;

/// <summary>
/// Pushes in flight together share sObject Collections calls, against Azurite and the sandbox. A gate holds the first
/// record writes until the other pushes are known to wait in the <see cref="PushCoalescer"/>, so what goes into which
/// call is decided by synchronisation, not by timing.
/// </summary>
public sealed class CoalescedPushTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static readonly TimeSpan GateWait = TimeSpan.FromMinutes(2);
    private readonly TestStorage _storage = new();
    private readonly WriteGate _gate = new();
    private ServiceProvider _services = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private PushCoalescer Coalescer => _services.GetRequiredService<PushCoalescer>();

    public async ValueTask InitializeAsync()
    {
        await sandbox.Control.ResetAsync(Ct);
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = AppServices.Build(_storage, sandbox, configureServices: services =>
            services.ConfigureHttpClientDefaults(client => client.AddHttpMessageHandler(() => new GateHandler(_gate))));
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task PushAsync_ManyInFlight_ShareOneCollectionsCallAndEachRecordsItsOwnResult()
    {
        // Arrange: ten unsubscribes queued; the gate holds both calls that may go out at once.
        const int count = 10;
        var (emails, ids) = await SeedAsync("many", count);
        var messages = await ReceiveAsync(count);
        _gate.Hold(PushCoalescer.MaxCallsInFlight);

        // Act: two pushes go out alone and are held; the other eight start and wait; then the held calls are released.
        var outcomes = await PushTogetherAsync(messages, PushAsync);

        // Assert: two PATCHes and one collections call for ten unsubscribes; every link confirmed on its own record.
        Assert.All(outcomes, o => Assert.Equal(PushOutcome.Synced, o));
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal((PushCoalescer.MaxCallsInFlight, 1), (stats.Sobject, stats.Composite));
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(LinkStatus.Synced, (await LinkAsync(emails[i], ids[i])).Status);
            Assert.True((await sandbox.Control.GetRecordAsync(ids[i], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        }
    }

    [Fact]
    public async Task PushAsync_IdleSinglePush_GoesOutAtOnceAsOnePatch()
    {
        // Arrange
        var (emails, ids) = await SeedAsync("idle", 1);
        var message = Assert.Single(await ReceiveAsync(1));
        _gate.Hold(1);

        // Act: nothing else is in flight; the write must reach Salesforce with no other push to wait for and no timer
        // to fire (the coalescer has none), so the gate sees it while the test has done nothing but start the push.
        var push = PushAsync(message);
        await _gate.Held(1).WaitAsync(GateWait, Ct);
        var waiting = Coalescer.Waiting;
        _gate.Release();

        // Assert
        Assert.Equal(PushOutcome.Synced, await push);
        Assert.Equal(0, waiting);
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal((1, 0), (stats.Sobject, stats.Composite));
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(emails[0], ids[0])).Status);
    }

    [Fact]
    public async Task PushAsync_MixedCollection_OnlyTheRefusedRecordsGetTheirOutcomes()
    {
        // Arrange: two pushes that go out alone (held), then one call carrying a validation failure, a field error, a
        // converted lead and three records that take the write.
        var (emails, ids) = await SeedAsync("mixed", 8);
        var contact = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(emails[4])], Ct))[0];
        await sandbox.Control.ConvertLeadAsync(ids[4], contact, Ct);
        await sandbox.Control.AddFaultsAsync(Ct,
            new SandboxFault("composite", 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Region is required", RecordId: ids[2]),
            new SandboxFault("composite", 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields", RecordId: ids[3]));
        // Records 0 and 1 go out alone; the six others share the call after them.
        var messages = (await ReceiveAsync(8)).OrderBy(m => ids.IndexOf(PushMessage.FromJson(m.MessageText).SalesforceId)).ToList();
        _gate.Hold(PushCoalescer.MaxCallsInFlight);

        // Act
        var outcomes = await PushTogetherAsync(messages, PushAsync);
        var pushes = messages.Select((m, i) => (PushMessage.FromJson(m.MessageText).SalesforceId, outcomes[i])).ToDictionary(p => p.SalesforceId, p => p.Item2);

        // Assert: each message came to its own record's outcome; none threw, so every message completes.
        Assert.Equal(PushOutcome.Failed, pushes[ids[2]]);
        Assert.Equal(PushOutcome.Blocked, pushes[ids[3]]);
        Assert.Equal(PushOutcome.Redirected, pushes[ids[4]]);
        Assert.All(new[] { 0, 1, 5, 6, 7 }, i => Assert.Equal(PushOutcome.Synced, pushes[ids[i]]));
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Composite);
        var failed = await LinkAsync(emails[2], ids[2]);
        Assert.Equal((LinkStatus.Failed, "FIELD_CUSTOM_VALIDATION_EXCEPTION"), (failed.Status, failed.LastErrorCode));
        Assert.Equal(LinkStatus.Blocked, (await LinkAsync(emails[3], ids[3])).Status);
        Assert.Equal(LinkStatus.Dead, (await LinkAsync(emails[4], ids[4])).Status);
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(emails[4], contact)).Status);
        Assert.All(new[] { 0, 1, 5, 6, 7 }, i => Assert.Equal(LinkStatus.Synced, LinkAsync(emails[i], ids[i]).GetAwaiter().GetResult().Status));
        Assert.True((await sandbox.Control.GetRecordAsync(contact, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_CollectionsCallFailsTransiently_EveryMessageInItIsRetriedAndThenWritten()
    {
        // Arrange: every collections call answers 503 (the client's own retries included); single PATCHes pass.
        const int count = 6;
        var (emails, ids) = await SeedAsync("transient", count);
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("composite", 503, "SERVER_UNAVAILABLE", "Try again"));
        var emulator = new QueueHostEmulator(_storage.Clients.Queues);
        var function = new PushToSalesforce(_services.GetRequiredService<IPushService>());
        _gate.Hold(PushCoalescer.MaxCallsInFlight);

        // Act: six deliveries at once, as the host's listener makes them; the held two go alone, the other four together.
        var delivered = await PushTogetherAsync(Enumerable.Range(0, count).ToList(), _ => emulator.DeliverOnceAsync(_storage.Names.PushQueue, function.Run, Ct));
        Assert.All(delivered, Assert.True);

        // Assert: the four in the failed call were each recorded as retrying and released for another delivery.
        var pending = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var link = await LinkAsync(emails[i], ids[i]);
            if (link.Status != LinkStatus.Synced)
            {
                Assert.Equal((LinkStatus.Pending, "SERVER_UNAVAILABLE"), (link.Status, link.LastErrorCode));
                pending.Add(i);
            }
        }

        Assert.Equal(count - PushCoalescer.MaxCallsInFlight, pending.Count);

        // Act: Salesforce recovers; the queue hands the four back.
        await sandbox.Control.ClearFaultsAsync(Ct);
        var redelivered = await emulator.DrainAsync(_storage.Names.PushQueue, function.Run, Ct);

        // Assert
        Assert.Equal(pending.Count, redelivered);
        Assert.All(pending, i => Assert.Equal(LinkStatus.Synced, LinkAsync(emails[i], ids[i]).GetAwaiter().GetResult().Status));
        Assert.All(pending, i => Assert.True(sandbox.Control.GetRecordAsync(ids[i], Ct).GetAwaiter().GetResult()["HasOptedOutOfEmail"]!.GetValue<bool>()));
    }

    /// <summary>
    /// Starts the first <see cref="PushCoalescer.MaxCallsInFlight"/> pushes and waits until the gate holds their calls,
    /// starts the rest and waits until they all wait in the coalescer, then releases the gate.
    /// </summary>
    private async Task<TResult[]> PushTogetherAsync<TItem, TResult>(IReadOnlyList<TItem> items, Func<TItem, Task<TResult>> push)
    {
        // One at a time, so each leads a call of its own instead of joining the one before it.
        var first = new List<Task<TResult>>();
        foreach (var item in items.Take(PushCoalescer.MaxCallsInFlight))
        {
            first.Add(Task.Run(() => push(item), Ct));
            await _gate.Held(first.Count).WaitAsync(GateWait, Ct); // bounded so a broken gate fails the test instead of hanging the suite
        }

        var rest = items.Skip(PushCoalescer.MaxCallsInFlight).Select(i => Task.Run(() => push(i), Ct)).ToList();
        await Coalescer.WhenWaitingAsync(rest.Count, Ct).WaitAsync(GateWait, Ct);
        _gate.Release();
        return await Task.WhenAll(first.Concat(rest));
    }

    private async Task<(List<string> Emails, List<string> Ids)> SeedAsync(string tag, int count)
    {
        // Record 4 of a mixed batch is a lead (converted in that test); the others alternate contacts and leads.
        var emails = Enumerable.Range(0, count).Select(i => $"{tag}{i}@coalesce.example").ToList();
        var ids = (await sandbox.Control.CreateRecordsAsync(emails.Select((e, i) => i % 2 == 0 ? SandboxRecord.Lead(e) : SandboxRecord.Contact(e)), Ct)).ToList();
        var intake = _services.GetRequiredService<IIntakeService>();
        var now = DateTimeOffset.UtcNow;
        await intake.AcceptAsync(
            [.. emails.Select((e, i) => new ConsentEvent($"evt-{tag}-{i}", ConsentEventType.Unsubscribe, Address(e), SalesforceId.Parse(ids[i]), now.AddMinutes(-1), now, "link", null))],
            Ct);
        return (emails, ids);
    }

    private static EmailAddress Address(string email) => EmailAddress.TryCreate(email, out var address, out _) ? address : throw new ArgumentException(email);

    private async Task<List<QueueMessage>> ReceiveAsync(int count)
    {
        var queue = _storage.Clients.Queues.GetQueueClient(_storage.Names.PushQueue);
        var messages = new List<QueueMessage>();
        while (messages.Count < count)
        {
            QueueMessage[] received = await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), Ct);
            Assert.NotEmpty(received);
            messages.AddRange(received);
        }

        return messages;
    }

    private Task<PushOutcome> PushAsync(QueueMessage message) =>
        Task.Run(() => _services.GetRequiredService<IPushService>().PushAsync(message.MessageText, message.DequeueCount, Ct), Ct);

    private async Task<RecordLinkEntity> LinkAsync(string email, string id)
    {
        var record = await _services.GetRequiredService<ILedgerStore>().GetAsync(EmailAddress.KeyOf(email), Ct);
        return record!.Links.Single(l => l.SalesforceId == id);
    }

    /// <summary>Once told how many, holds that many single-record PATCHes until released.</summary>
    private sealed class WriteGate
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource[] _arrived = [];
        private int _held;

        /// <summary>Holds the next <paramref name="count"/> single-record writes.</summary>
        public void Hold(int count) => Volatile.Write(ref _arrived, [.. Enumerable.Range(0, count).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))]);

        /// <summary>Completes when the <paramref name="position"/>th held write (from 1) has arrived.</summary>
        public Task Held(int position) => Volatile.Read(ref _arrived)[position - 1].Task;

        public void Release() => _released.TrySetResult();

        public async Task PassAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method != HttpMethod.Patch || !path.Contains("/sobjects/", StringComparison.Ordinal) || path.Contains("/composite/", StringComparison.Ordinal))
            {
                return;
            }

            var arrived = Volatile.Read(ref _arrived);
            var position = Interlocked.Increment(ref _held);
            if (position > arrived.Length)
            {
                return;
            }

            arrived[position - 1].TrySetResult();

            await _released.Task.WaitAsync(GateWait, cancellationToken);
        }
    }

    private sealed class GateHandler(WriteGate gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await gate.PassAsync(request, cancellationToken);
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
