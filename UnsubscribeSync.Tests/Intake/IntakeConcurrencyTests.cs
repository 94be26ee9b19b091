using Microsoft.Extensions.DependencyInjection;
using NSubstitute;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// Two deliveries of one webhook event at the same moment (the sender retried before the first answer, or sent
/// it twice). The first delivery is held inside its ledger write by a gate, so the tests act at a chosen step.
/// </summary>
public sealed class IntakeConcurrencyTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TestStorage _storage = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    [Fact]
    public async Task AcceptAsync_SameEventDeliveredTwiceAtOnce_QueuesOnePush()
    {
        // Arrange
        var gate = new LedgerGate(_storage.Ledger);
        var intake = _storage.CreateIntake(ledger: gate.Ledger);
        var e = Event("evt-twin", "twin@b.co", "0035g00000ABCde");

        // Act: the second delivery runs from start to end while the first is inside its ledger write.
        var first = intake.AcceptAsync([e], Ct);
        await gate.FirstEntered.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        var second = await intake.AcceptAsync([e], Ct);
        gate.ReleaseFirst.SetResult();
        var firstOutcome = await first;

        // Assert: the second is not told "duplicate" before the first has finished; it is told when to come back.
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Equal(["evt-twin"], firstOutcome.Accepted);
        Assert.Equal(["evt-twin"], second.InProgress);
        Assert.Empty(second.Duplicates);
        Assert.Equal(_storage.Time.GetUtcNow() + IntakeRecords.InProgressWindow, second.RetryAt);
        Assert.Single(await _storage.Audit.ReadAsync(e.Email.Key, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task AcceptAsync_FailedAttemptCouldNotGiveItsClaimBack_RetryAfterTheLapseFinishesIt()
    {
        // Arrange: the first attempt's queue send fails and storage refuses its claim release too (a loaded account
        // times out both), so the row stays claimed by an attempt that has already answered 503.
        var records = new ReleaseFails(_storage.IntakeRecords);
        var failingQueue = Substitute.For<Functions.Push.IPushQueue>();
        failingQueue.SendAsync(Arg.Any<Functions.Push.PushMessage>(), Arg.Any<CancellationToken>())
            .Returns(Task.FromException(new Azure.RequestFailedException(503, "server busy")));
        var first = new IntakeService(records, _storage.Ledger, _storage.Audit, failingQueue, _storage.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<IntakeService>.Instance);
        var e = Event("evt-unreleased", "unreleased@b.co", "0035g00000ABCde");
        await Assert.ThrowsAnyAsync<Exception>(() => first.AcceptAsync([e], Ct));

        // Act: the sender retries at once (told to wait), then after Retry-After.
        var early = await _storage.CreateIntake().AcceptAsync([e], Ct);
        _storage.Time.Advance(early.RetryAt!.Value - _storage.Time.GetUtcNow());
        var late = await _storage.CreateIntake().AcceptAsync([e], Ct);

        // Assert: the early retry was not a 202 "duplicate" that would leave the event for the nightly sweep.
        Assert.Equal(["evt-unreleased"], early.InProgress);
        Assert.Empty(early.Duplicates);
        Assert.Equal(["evt-unreleased"], late.Accepted);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(_storage.Time.GetUtcNow().AddDays(1), Ct).ToListAsync(Ct));
    }

    private sealed class ReleaseFails(IIntakeRecords inner) : IIntakeRecords
    {
        public Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken) => inner.GetOrAddAsync(record, cancellationToken);

        public Task<bool> TryClaimAsync(IntakeRecordEntity record, string claimant, DateTimeOffset now, CancellationToken cancellationToken) =>
            inner.TryClaimAsync(record, claimant, now, cancellationToken);

        public Task ReleaseAsync(IntakeRecordEntity record, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<bool> MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken) =>
            inner.MarkQueuedAsync(record, completedAt, cancellationToken);

        public IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
            inner.FindUnfinishedAsync(olderThan, cancellationToken);

        public Task<IntakeSweepPage> FindUnfinishedPageAsync(DateTimeOffset olderThan, string? continuation, int pageSize, CancellationToken cancellationToken) =>
            inner.FindUnfinishedPageAsync(olderThan, continuation, pageSize, cancellationToken);
    }

    [Fact]
    public async Task AcceptAsync_InsertLandedButItsAnswerWasLost_FinishesTheEventAsItsOwn()
    {
        // Arrange: storage carries the insert out, the answer times out, and the SDK's retry reads the row back (409),
        // as a loaded storage account does. Before, the attempt took its own fresh claim for another delivery's.
        var records = new AnswerLostOnInsert(_storage.IntakeRecords);
        var intake = new IntakeService(
            records, _storage.Ledger, _storage.Audit, _storage.PushQueue, _storage.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<IntakeService>.Instance);
        var e = Event("evt-answer-lost", "lost.answer@b.co", "0035g00000ABCde");

        // Act
        var outcome = await intake.AcceptAsync([e], Ct);

        // Assert
        Assert.Equal(["evt-answer-lost"], outcome.Accepted);
        Assert.Empty(outcome.Duplicates);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Equal(ConsentState.Unsubscribed, (await _storage.Ledger.GetStateAsync(e.Email.Key, Ct))!.ConsentState);
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(DateTimeOffset.MaxValue, Ct).ToListAsync(Ct));
    }

    /// <summary>Inserts for real, then hands back the row as read again: a different instance, as after a 409 on the retry.</summary>
    private sealed class AnswerLostOnInsert(IntakeRecords inner) : IIntakeRecords
    {
        public async Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken)
        {
            await inner.GetOrAddAsync(record, cancellationToken);
            var again = new IntakeRecordEntity { PartitionKey = record.PartitionKey, RowKey = record.RowKey };
            return await inner.GetOrAddAsync(again, cancellationToken);
        }

        public Task<bool> TryClaimAsync(IntakeRecordEntity record, string claimant, DateTimeOffset now, CancellationToken cancellationToken) =>
            inner.TryClaimAsync(record, claimant, now, cancellationToken);

        public Task ReleaseAsync(IntakeRecordEntity record, CancellationToken cancellationToken) => inner.ReleaseAsync(record, cancellationToken);

        public Task<bool> MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken) =>
            inner.MarkQueuedAsync(record, completedAt, cancellationToken);

        public IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
            inner.FindUnfinishedAsync(olderThan, cancellationToken);

        public Task<IntakeSweepPage> FindUnfinishedPageAsync(DateTimeOffset olderThan, string? continuation, int pageSize, CancellationToken cancellationToken) =>
            inner.FindUnfinishedPageAsync(olderThan, continuation, pageSize, cancellationToken);
    }

    [Fact]
    public async Task Run_SameEventPostedTwiceAtOnce_SecondAnsweredRetryLaterWithOnePush()
    {
        // Arrange: the webhook function over the app's composition root, its ledger held by the gate.
        var gate = new LedgerGate(_storage.Ledger);
        await using var services = AppServices.Build(_storage, sandbox: null, configureServices: s => s.AddSingleton(gate.Ledger));
        var function = new ReceiveUnsubscribes(services.GetRequiredService<WebhookHandler>());
        const string body = """{"id":"evt-posted-twice","email":"twice@example.com","salesforceId":"0035g00000ABCde"}""";

        // Act
        var first = function.Run(HttpTestExtensions.JsonRequest(body), Ct);
        await gate.FirstEntered.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        var second = await (await function.Run(HttpTestExtensions.JsonRequest(body), Ct)).ExecuteAsync();
        gate.ReleaseFirst.SetResult();
        var firstOutcome = await (await first).ExecuteAsync();

        // Assert
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Equal((202, 503), (firstOutcome.Status, second.Status));
        Assert.Equal("evt-posted-twice", firstOutcome.Json["accepted"]![0]!.GetValue<string>());
        Assert.Equal("urn:unsubscribesync:problem:in-progress", second.Json["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(second.Headers.RetryAfter.ToString()));
    }

    [Fact]
    public async Task AcceptAsync_FirstDeliveryHungPastInProgressWindow_RetryFinishesIt()
    {
        // Arrange: the first delivery hangs inside its ledger write (its worker is gone) and never gives its claim back.
        var gate = new LedgerGate(_storage.Ledger);
        var e = Event("evt-hung", "hung@b.co", "0035g00000ABCde");
        using var hung = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = _storage.CreateIntake(ledger: gate.Ledger).AcceptAsync([e], hung.Token);
        await gate.FirstEntered.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        _storage.Time.Advance(IntakeRecords.InProgressWindow + TimeSpan.FromSeconds(1));

        // Act
        var retry = await _storage.CreateIntake().AcceptAsync([e], Ct);
        await hung.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // Assert
        Assert.Equal(["evt-hung"], retry.Accepted);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(_storage.Time.GetUtcNow().AddDays(1), Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task CompleteAsync_IntakeBeingFinishedByADelivery_LeavesItToThatDelivery()
    {
        // Arrange
        var gate = new LedgerGate(_storage.Ledger);
        var e = Event("evt-swept", "swept@b.co", "0035g00000ABCde");
        var delivery = _storage.CreateIntake(ledger: gate.Ledger).AcceptAsync([e], Ct);
        await gate.FirstEntered.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct); // bounded so a broken gate fails the test instead of hanging the suite
        var unfinished = Assert.Single(await _storage.IntakeRecords.FindUnfinishedAsync(_storage.Time.GetUtcNow().AddMinutes(1), Ct).ToListAsync(Ct));

        // Act: the nightly sweep reaches the record while the delivery is inside its ledger write.
        var swept = await _storage.CreateIntake().CompleteAsync(unfinished, Ct);
        gate.ReleaseFirst.SetResult();
        var outcome = await delivery;

        // Assert
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.False(swept);
        Assert.Equal(["evt-swept"], outcome.Accepted);
    }

    private ConsentEvent Event(string id, string email, string? salesforceId)
    {
        EmailAddress.TryCreate(email, out var address, out _);
        return new ConsentEvent(id, ConsentEventType.Unsubscribe, address!, salesforceId is null ? null : SalesforceId.Parse(salesforceId),
            T, _storage.Time.GetUtcNow(), "link", null);
    }

    /// <summary>A ledger whose first apply waits at the door until the test lets it through; later calls go straight to the real ledger.</summary>
    private sealed class LedgerGate
    {
        private int _calls;

        public LedgerGate(ILedgerStore real)
        {
            Ledger = Substitute.For<ILedgerStore>();
            Ledger.ApplyAsync(Arg.Any<ConsentEvent>(), Arg.Any<CancellationToken>())
                .Returns(call => ApplyAsync(real, call.ArgAt<ConsentEvent>(0), call.ArgAt<CancellationToken>(1)));
        }

        public ILedgerStore Ledger { get; }

        public TaskCompletionSource FirstEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseFirst { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task<LedgerApplyResult> ApplyAsync(ILedgerStore real, ConsentEvent e, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                FirstEntered.SetResult();
                await ReleaseFirst.Task.WaitAsync(cancellationToken);
            }

            return await real.ApplyAsync(e, cancellationToken);
        }
    }
}
