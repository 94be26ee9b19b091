using NSubstitute;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Consent;

/// <summary>
/// The change feed's guarantees against real storage: each change of an address's state enters once, numbered without
/// gaps, in the order it happened, however many workers publish at once and wherever one of them stopped.
/// </summary>
public sealed class ConsentFeedTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private readonly TestStorage _storage = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    private static ConsentEvent Event(string id, string email, ConsentEventType type, DateTimeOffset at, bool fromSalesforce = false)
    {
        Assert.True(EmailAddress.TryCreate(email, out var address, out _));
        return new ConsentEvent(id, type, address!, fromSalesforce ? SalesforceId.Parse("0035g00000ABCdeAAH") : null, at, at,
            fromSalesforce ? "salesforce" : "link", type == ConsentEventType.Resubscribe ? "test" : null, ReadFromRecord: fromSalesforce);
    }

    private async Task<IReadOnlyList<FeedEntryEntity>> ReadAllAsync()
    {
        var feed = _storage.Feed;
        var head = await feed.GetHeadAsync(Ct);
        return await feed.ReadAsync(0, head.LastSequence, int.MaxValue, Ct);
    }

    [Fact]
    public async Task Apply_StateChanges_RecordsOneNumberedChangeEachAndQueuesTheAddress()
    {
        // Arrange
        var ledger = _storage.Ledger;
        var key = EmailAddress.KeyOf("jane@example.com");

        // Act: a change, a repeat of it, an older event, a reaffirmation, and a second change.
        await ledger.ApplyAsync(Event("e1", "jane@example.com", ConsentEventType.Unsubscribe, T0), Ct);
        await ledger.ApplyAsync(Event("e1", "jane@example.com", ConsentEventType.Unsubscribe, T0), Ct);
        await ledger.ApplyAsync(Event("e0", "jane@example.com", ConsentEventType.Resubscribe, T0.AddHours(-1)), Ct);
        await ledger.ApplyAsync(Event("e2", "jane@example.com", ConsentEventType.Unsubscribe, T0.AddHours(1)), Ct);
        await ledger.ApplyAsync(Event("e3", "jane@example.com", ConsentEventType.Resubscribe, T0.AddHours(2)), Ct);

        // Assert
        var record = (await ledger.GetAsync(key, Ct))!;
        Assert.Equal(2, record.State.Version);
        Assert.Equal([(1L, "e1", "Unsubscribed"), (2L, "e3", "Subscribed")], record.PendingChanges.Select(c => (c.Version, c.EventId, c.State)));
        Assert.All(record.PendingChanges, c => Assert.Equal(ConsentChangeEntity.WebhookChannel, c.Channel));
        var queued = (await _storage.FeedQueueClient.PeekMessagesAsync(32, cancellationToken: Ct)).Value;
        Assert.All(queued, m => Assert.Equal(key, ConsentFeedMessage.FromJson(m.Body.ToString()).EmailKey));
        Assert.True(queued.Length >= 2);
    }

    [Fact]
    public async Task Apply_FeedQueueUnavailable_StillRecordsTheChangeForTheSweep()
    {
        // Arrange: the ledger commit succeeds, then the queue does not answer.
        var down = Substitute.For<IConsentFeedQueue>();
        down.SendAsync(Arg.Any<string>(), Arg.Any<CancellationToken>()).Returns(Task.FromException(new Azure.RequestFailedException(503, "queue down")));
        var ledger = new LedgerStore(_storage.Clients, _storage.Options, down, _storage.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<LedgerStore>.Instance);

        // Act
        var result = await ledger.ApplyAsync(Event("e1", "jane@example.com", ConsentEventType.Unsubscribe, T0), Ct);

        // Assert: the event is not failed for the feed; its change waits in the ledger.
        Assert.Equal(ConsentDecision.Applied, result.Decision);
        var change = Assert.Single((await ledger.GetAsync(EmailAddress.KeyOf("jane@example.com"), Ct))!.PendingChanges);
        Assert.Equal(1, change.Version);
        await down.Received(1).SendAsync(EmailAddress.KeyOf("jane@example.com"), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Publish_WaitingChanges_AppendsThemInOrderAndRemovesThemFromTheLedger()
    {
        // Arrange
        var ledger = _storage.Ledger;
        await ledger.ApplyAsync(Event("e1", "jane@example.com", ConsentEventType.Unsubscribe, T0), Ct);
        await ledger.ApplyAsync(Event("e2", "jane@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)), Ct);
        await ledger.ApplyAsync(Event("sf1", "bob@example.com", ConsentEventType.Unsubscribe, T0, fromSalesforce: true), Ct);
        var jane = EmailAddress.KeyOf("jane@example.com");

        // Act
        var first = await _storage.Feed.PublishAsync(jane, c => c.Type == "resubscribe", Ct);
        var second = await _storage.Feed.PublishAsync(EmailAddress.KeyOf("bob@example.com"), _ => true, Ct);

        // Assert
        var feed = await ReadAllAsync();
        Assert.Equal([1L, 2L, 3L], feed.Select(e => e.Sequence));
        Assert.Equal(
            [("jane@example.com", 1L, "Unsubscribed", "webhook"), ("jane@example.com", 2L, "Subscribed", "webhook"), ("bob@example.com", 1L, "Unsubscribed", "nightly-sync")],
            feed.Select(e => (e.Email, e.Version, e.State, e.Channel)));
        Assert.Equal([2L], first.Notifications.Select(n => n.Sequence));
        Assert.Equal([3L], second.Notifications.Select(n => n.Sequence));
        Assert.Empty((await ledger.GetAsync(jane, Ct))!.PendingChanges);
        Assert.Equal(3, (await _storage.Feed.GetHeadAsync(Ct)).LastSequence);
    }

    [Fact]
    public async Task Publish_AfterAWorkerStoppedBeforeRemovingTheChanges_AppendsNothingTwice()
    {
        // Arrange: a worker appended the change, then died before removing it from the ledger.
        var ledger = _storage.Ledger;
        await ledger.ApplyAsync(Event("e1", "jane@example.com", ConsentEventType.Resubscribe, T0), Ct);
        var key = EmailAddress.KeyOf("jane@example.com");
        var dying = Substitute.For<IConsentChangeLog>();
        dying.GetChangesAsync(key, Arg.Any<CancellationToken>()).Returns(call => ledger.GetChangesAsync(key, call.Arg<CancellationToken>()));
        dying.DeleteChangesAsync(Arg.Any<IReadOnlyList<ConsentChangeEntity>>(), Arg.Any<CancellationToken>()).Returns(Task.FromException(new IOException("worker stopped")));
        var crashed = new ConsentFeed(_storage.Clients, _storage.Options, dying, _storage.Time);
        await Assert.ThrowsAsync<IOException>(() => crashed.PublishAsync(key, _ => true, Ct));

        // Act: the message is delivered again.
        var again = await _storage.Feed.PublishAsync(key, _ => true, Ct);

        // Assert
        Assert.Empty(again.Appended);
        Assert.Empty(again.Notifications);
        Assert.Equal([1L], (await ReadAllAsync()).Select(e => e.Sequence));
        Assert.Empty(await ledger.GetChangesAsync(key, Ct));
        Assert.Equal([1L], await _storage.Feed.OwedNotificationsAsync(Ct).Select(n => n.Sequence).ToListAsync(Ct));
    }

    [Fact]
    public async Task Publish_ManyWorkersAtOnce_NumbersEveryChangeOnceWithoutGapsAndInEachAddressesOrder()
    {
        // Arrange: 40 addresses with 1 to 3 changes each, every address published by two workers at the same time,
        // while further changes of some addresses are still being recorded.
        var ledger = _storage.Ledger;
        var emails = Enumerable.Range(0, 40).Select(i => $"person{i}@example.com").ToList();
        foreach (var (email, i) in emails.Select((e, i) => (e, i)))
        {
            for (var v = 0; v <= i % 3; v++)
            {
                await ledger.ApplyAsync(Event($"{email}-{v}", email, v % 2 == 0 ? ConsentEventType.Unsubscribe : ConsentEventType.Resubscribe, T0.AddMinutes(v)), Ct);
            }
        }

        // Late opt-outs: a change for the addresses left subscribed, a reaffirmation (no change) for the others.
        var late = emails.Take(10).Select(email => Event($"{email}-late", email, ConsentEventType.Unsubscribe, T0.AddHours(1))).ToList();

        // Act
        var publishers = emails.Concat(emails).Select(e => EmailAddress.KeyOf(e)).ToList();
        await Task.WhenAll(
            Parallel.ForEachAsync(publishers, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct },
                async (key, token) => await _storage.Feed.PublishAsync(key, _ => false, token)),
            Parallel.ForEachAsync(late, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct },
                async (e, token) => await ledger.ApplyAsync(e, token)));
        await Parallel.ForEachAsync(emails, Ct, async (email, token) => await _storage.Feed.PublishAsync(EmailAddress.KeyOf(email), _ => false, token));

        // Assert: every change the ledger numbered, 1..N without a gap, each once, versions rising along the feed per address.
        var feed = await ReadAllAsync();
        var numbered = 0L;
        foreach (var email in emails)
        {
            numbered += (await ledger.GetStateAsync(EmailAddress.KeyOf(email), Ct))!.Version;
        }

        Assert.Equal(40 + 26 + 13 + 3, numbered);
        Assert.Equal(numbered, feed.Count);
        Assert.Equal(Enumerable.Range(1, feed.Count).Select(i => (long)i), feed.Select(e => e.Sequence));
        Assert.Equal(feed.Count, feed.Select(e => (e.EmailKey, e.Version)).Distinct().Count());
        foreach (var address in feed.GroupBy(e => e.EmailKey))
        {
            Assert.Equal(Enumerable.Range(1, address.Count()).Select(i => (long)i), address.Select(e => e.Version));
            var state = (await ledger.GetAsync(address.Key, Ct))!.State;
            Assert.Equal(state.State, address.Last().State);
            Assert.Equal(state.Version, address.Last().Version);
        }
    }

    [Fact]
    public async Task Read_WithinTheHead_ReturnsTheRangeAskedFor()
    {
        // Arrange
        var ledger = _storage.Ledger;
        for (var i = 0; i < 5; i++)
        {
            await ledger.ApplyAsync(Event($"e{i}", $"p{i}@example.com", ConsentEventType.Unsubscribe, T0), Ct);
            await _storage.Feed.PublishAsync(EmailAddress.KeyOf($"p{i}@example.com"), _ => false, Ct);
        }

        // Act
        var middle = await _storage.Feed.ReadAsync(1, 4, 2, Ct);
        var tail = await _storage.Feed.ReadAsync(3, 5, 10, Ct);
        var none = await _storage.Feed.ReadAsync(5, 5, 10, Ct);

        // Assert
        Assert.Equal([2L, 3L], middle.Select(e => e.Sequence));
        Assert.Equal([4L, 5L], tail.Select(e => e.Sequence));
        Assert.Empty(none);
    }
}
