using Azure.Storage.Queues.Models;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>The intake against real Azurite storage: ledger, audit, idempotency records and the push queue.</summary>
public sealed class IntakeServiceIntegrationTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TestStorage _storage = new();
    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    private ConsentEvent Event(string id, string email, string? salesforceId = null, ConsentEventType type = ConsentEventType.Unsubscribe, DateTimeOffset? occurredAt = null)
    {
        EmailAddress.TryCreate(email, out var address, out _);
        return new ConsentEvent(id, type, address!, salesforceId is null ? null : SalesforceId.Parse(salesforceId),
            occurredAt ?? T, _storage.Time.GetUtcNow(), "link", "test");
    }

    [Fact]
    public async Task AcceptAsync_NewEvent_LandsInLedgerAuditAndQueue()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        var e = Event("evt-1", "Jane.Doe@Example.com", "0035g00000ABCde");

        // Act
        var outcome = await intake.AcceptAsync([e], Ct);

        // Assert
        Assert.Equal(["evt-1"], outcome.Accepted);
        var record = await _storage.Ledger.GetAsync(e.Email.Key, Ct);
        Assert.NotNull(record);
        Assert.Equal("jane.doe@example.com", record.State.Email);
        Assert.Equal(ConsentState.Unsubscribed, record.State.ConsentState);
        Assert.Equal(T, record.State.StateSince);
        Assert.False(record.State.AwaitingSalesforceId);
        var link = Assert.Single(record.Links);
        Assert.Equal("0035g00000ABCdeAAH", link.SalesforceId);
        Assert.Equal(LinkStatus.Pending, link.Status);
        Assert.True(link.DesiredOptOut);

        var audit = await _storage.Audit.ReadAsync(e.Email.Key, Ct).ToListAsync(Ct);
        var entry = Assert.Single(audit);
        Assert.Equal(("evt-1", "unsubscribe", "link", "applied"), (entry.EventId, entry.Type, entry.Source, entry.Outcome));
        Assert.Equal(T, entry.OccurredAt);

        var message = Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Equal((e.Email.Key, "0035g00000ABCdeAAH", "Contact", true, "evt-1"), (message.EmailKey, message.SalesforceId, message.ObjectType, message.OptOut, message.EventId));
    }

    [Fact]
    public async Task AcceptAsync_QueueMessage_IsBase64AsTheTriggerExpects()
    {
        // Arrange
        var intake = _storage.CreateIntake();

        // Act
        await intake.AcceptAsync([Event("evt-b64", "a@b.co", "00Q5g00000XyZ12")], Ct);

        // Assert: read the raw bytes with a client that does no decoding.
        var raw = new Azure.Storage.Queues.QueueClient(_storage.ConnectionString, _storage.Names.PushQueue);
        PeekedMessage[] peeked = await raw.PeekMessagesAsync(1, Ct);
        var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(peeked[0].Body.ToString()));
        Assert.Equal("Lead", PushMessage.FromJson(decoded).ObjectType);
    }

    [Fact]
    public async Task AcceptAsync_SameIdTwice_SecondIsDuplicateAndNothingNewIsWritten()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        var e = Event("evt-dup", "a@b.co", "0035g00000ABCde");
        await intake.AcceptAsync([e], Ct);

        // Act
        var second = await intake.AcceptAsync([e with { Reason = "changed" }], Ct);

        // Assert
        Assert.Empty(second.Accepted);
        Assert.Equal(["evt-dup"], second.Duplicates);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Single(await _storage.Audit.ReadAsync(e.Email.Key, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task AcceptAsync_RepeatedIdWithinOneRequest_CountsOnce()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        var e = Event("evt-twice", "a@b.co", "0035g00000ABCde");

        // Act
        var outcome = await intake.AcceptAsync([e, e], Ct);

        // Assert
        Assert.Equal(["evt-twice"], outcome.Accepted);
        Assert.Equal(["evt-twice"], outcome.Duplicates);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
    }

    [Fact]
    public async Task AcceptAsync_NoSalesforceId_KeptAsAwaitingIdAndNotQueued()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        var e = Event("evt-noid", "noid@b.co");

        // Act
        var outcome = await intake.AcceptAsync([e], Ct);

        // Assert
        Assert.Equal(["evt-noid"], outcome.Accepted);
        var record = await _storage.Ledger.GetAsync(e.Email.Key, Ct);
        Assert.True(record!.State.AwaitingSalesforceId);
        Assert.Equal(ConsentState.Unsubscribed, record.State.ConsentState);
        Assert.Empty(record.Links);
        Assert.Equal("awaiting a Salesforce Id", Assert.Single(await _storage.Audit.ReadAsync(e.Email.Key, Ct).ToListAsync(Ct)).Detail);
        Assert.Empty(await _storage.PeekPushMessagesAsync(Ct));
    }

    [Fact]
    public async Task AcceptAsync_LaterEventWithoutId_FansOutToLinkedRecords()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        await intake.AcceptAsync([Event("e1", "a@b.co", "0035g00000ABCde"), Event("e2", "a@b.co", "00Q5g00000XyZ12")], Ct);
        await intake.AcceptAsync([Event("e3", "a@b.co", type: ConsentEventType.Resubscribe, occurredAt: T.AddHours(1))], Ct);

        // Act
        var record = await _storage.Ledger.GetAsync(Event("x", "a@b.co").Email.Key, Ct);
        var messages = await _storage.PeekPushMessagesAsync(Ct);

        // Assert
        Assert.Equal(ConsentState.Subscribed, record!.State.ConsentState);
        Assert.All(record.Links, l => Assert.False(l.DesiredOptOut));
        Assert.Equal(2, messages.Count(m => m.EventId == "e3" && !m.OptOut));
    }

    [Fact]
    public async Task AcceptAsync_OlderEventArrivingLate_IsAuditedButDoesNotFlipState()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        await intake.AcceptAsync([Event("resub", "late@b.co", "0035g00000ABCde", ConsentEventType.Resubscribe, T.AddHours(2))], Ct);

        // Act
        await intake.AcceptAsync([Event("old-unsub", "late@b.co", "0035g00000ABCde", ConsentEventType.Unsubscribe, T)], Ct);

        // Assert
        var key = Event("x", "late@b.co").Email.Key;
        var record = await _storage.Ledger.GetAsync(key, Ct);
        Assert.Equal(ConsentState.Subscribed, record!.State.ConsentState);
        Assert.Equal("resub", record.State.StateEventId);
        var audit = await _storage.Audit.ReadAsync(key, Ct).ToListAsync(Ct);
        Assert.Equal(["applied", "superseded"], audit.OrderBy(a => a.RecordedAt).ThenBy(a => a.EventId == "resub" ? 0 : 1).Select(a => a.Outcome));
    }

    [Fact]
    public async Task AcceptAsync_ManyEventsForOneAddressInOneBatch_AppliesInOrderWithoutLoss()
    {
        // Arrange
        var intake = _storage.CreateIntake();
        var events = Enumerable.Range(0, 20)
            .Select(i => Event($"seq-{i}", "busy@b.co", i % 2 == 0 ? "0035g00000ABCde" : "00Q5g00000XyZ12", i % 2 == 0 ? ConsentEventType.Unsubscribe : ConsentEventType.Resubscribe, T.AddMinutes(i)))
            .ToList();

        // Act
        var outcome = await intake.AcceptAsync(events, Ct);

        // Assert
        Assert.Equal(20, outcome.Accepted.Count);
        var record = await _storage.Ledger.GetAsync(events[0].Email.Key, Ct);
        Assert.Equal("seq-19", record!.State.StateEventId);
        Assert.Equal(ConsentState.Subscribed, record.State.ConsentState);
        Assert.Equal(20, (await _storage.Audit.ReadAsync(events[0].Email.Key, Ct).ToListAsync(Ct)).Count);
    }

    [Fact]
    public async Task AcceptAsync_StorageUnreachable_ThrowsStorageUnavailable()
    {
        // Arrange
        await using var down = new TestStorage(TestStorage.UnreachableConnectionString);
        var intake = down.CreateIntake();

        // Act + Assert
        await Assert.ThrowsAsync<StorageUnavailableException>(() => intake.AcceptAsync([Event("evt-down", "a@b.co", "0035g00000ABCde")], Ct));
    }

    [Fact]
    public async Task AcceptAsync_QueueFailsThenCallerRetries_ConvergesWithOneMessage()
    {
        // Arrange: the ledger and audit are written, then the queue send fails.
        var failingQueue = Substitute.For<IPushQueue>();
        failingQueue.SendAsync(Arg.Any<PushMessage>(), Arg.Any<CancellationToken>()).ThrowsAsyncForAnyArgs(new Azure.RequestFailedException(503, "Server busy"));
        var e = Event("evt-retry", "retry@b.co", "0035g00000ABCde");

        // Act
        await Assert.ThrowsAsync<StorageUnavailableException>(() => _storage.CreateIntake(pushQueue: failingQueue).AcceptAsync([e], Ct));
        var retry = await _storage.CreateIntake().AcceptAsync([e], Ct);
        var third = await _storage.CreateIntake().AcceptAsync([e], Ct);

        // Assert
        Assert.Equal(["evt-retry"], retry.Accepted);
        Assert.Equal(["evt-retry"], third.Duplicates);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Single(await _storage.Audit.ReadAsync(e.Email.Key, Ct).ToListAsync(Ct));
        var link = Assert.Single((await _storage.Ledger.GetAsync(e.Email.Key, Ct))!.Links);
        Assert.Equal(LinkStatus.Pending, link.Status);
    }

    [Fact]
    public async Task CompleteAsync_IntakeStoppedHalfWay_IsFoundAndFinished()
    {
        // Arrange: the caller gave up after a 503 that left only the idempotency record.
        var failingLedger = Substitute.For<ILedgerStore>();
        failingLedger.ApplyAsync(Arg.Any<ConsentEvent>(), Arg.Any<CancellationToken>()).ThrowsAsyncForAnyArgs(new Azure.RequestFailedException(500, "Internal"));
        var e = Event("evt-abandoned", "gone@b.co", "0035g00000ABCde");
        await Assert.ThrowsAsync<StorageUnavailableException>(() => _storage.CreateIntake(ledger: failingLedger).AcceptAsync([e], Ct));
        _storage.Time.Advance(TimeSpan.FromMinutes(30));

        // Act
        var unfinished = await _storage.IntakeRecords.FindUnfinishedAsync(_storage.Time.GetUtcNow().AddMinutes(-10), Ct).ToListAsync(Ct);
        var finished = await _storage.CreateIntake().CompleteAsync(Assert.Single(unfinished), Ct);

        // Assert
        Assert.True(finished);
        Assert.Equal(LinkStatus.Pending, Assert.Single((await _storage.Ledger.GetAsync(e.Email.Key, Ct))!.Links).Status);
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(_storage.Time.GetUtcNow(), Ct).ToListAsync(Ct));
    }
}
