using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;
using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Consent;

/// <summary>
/// The sweep finishes what a crash or a lost message left: changes still in the ledger, notifications still owed, and
/// the addresses a ledger held before the feed existed.
/// </summary>
public sealed class ConsentSweepTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sweep_ChangeWhoseFeedMessageWasLost_PublishesIt()
    {
        // Arrange: the change committed, then its consent-feed message never reached the queue.
        await using var app = await ConsentApp.CreateAsync();
        var lost = Substitute.For<IConsentFeedQueue>();
        var ledger = new LedgerStore(app.Storage.Clients, app.Storage.Options, lost, app.Storage.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<LedgerStore>.Instance);
        await ledger.ApplyAsync(ConsentApp.Event("evt-1", "lost@example.com"), Ct);
        Assert.Equal(0, await app.PublishAllAsync());

        // Act
        var result = await app.SweepAsync();

        // Assert
        Assert.Equal(1, result.Published);
        Assert.True(result.PassComplete);
        Assert.Equal("lost@example.com", Assert.Single(await app.ReadFeedAsync()).Email);
        Assert.Empty((await app.Ledger.GetAsync(EmailAddress.KeyOf("lost@example.com"), Ct))!.PendingChanges);
    }

    [Fact]
    public async Task Sweep_LedgerFromBeforeTheFeed_NumbersEveryAddressOnceAndNotifiesNone()
    {
        // Arrange: rows written by the previous version (no Version property), one of them changed since by this one.
        await using var app = await ConsentApp.CreateAsync(new Dictionary<string, string?>
        {
            ["Notify:Url"] = "https://sender.example.com/hooks/consent",
            ["Notify:SigningSecret"] = "secret",
        });
        var table = app.Storage.Clients.Tables.GetTableClient(app.Storage.Names.LedgerTable);
        var emails = Enumerable.Range(0, 30).Select(i => $"old{i}@example.com").ToList();
        foreach (var (email, i) in emails.Select((e, i) => (e, i)))
        {
            var row = new TableEntity(EmailAddress.KeyOf(email), ConsentStateEntity.RowKeyValue)
            {
                ["Email"] = email,
                ["State"] = i % 4 == 0 ? "Subscribed" : "Unsubscribed",
                ["StateSince"] = T0.AddDays(-i),
                ["DecidedAt"] = T0.AddDays(-i),
                ["StateSource"] = i % 2 == 0 ? "salesforce" : "link",
                ["StateEventId"] = $"old-{i}",
                ["AwaitingSalesforceId"] = true,
                ["CreatedAt"] = T0.AddDays(-i),
                ["UpdatedAt"] = T0.AddDays(-i),
            };
            await table.AddEntityAsync(row, Ct);
        }

        await app.AcceptAsync(ConsentApp.Event("new-1", "old0@example.com", occurredAt: T0.AddHours(1)));
        await app.PublishAllAsync();

        // Act
        var first = await app.SweepAsync();
        var second = await app.SweepAsync();

        // Assert
        var feed = await app.ReadFeedAsync();
        Assert.Equal((29, 29, true), (first.Backfilled, first.Published, first.PassComplete));
        Assert.Equal((0, 0), (second.Backfilled, second.Published));
        Assert.Equal(30, feed.Count);
        Assert.Equal(30, feed.Select(e => e.Email).Distinct().Count());
        Assert.Equal("webhook", feed[0].Channel);
        Assert.All(feed.Skip(1), e => Assert.Equal((ConsentChangeEntity.BackfillChannel, 1L), (e.Channel, e.Version)));
        var old5 = feed.Single(e => e.Email == "old5@example.com");
        Assert.Equal(("Unsubscribed", "old-5", "link", T0.AddDays(-5)), (old5.State, old5.EventId, old5.Source, old5.StateSince));
        Assert.Empty(await app.Feed.OwedNotificationsAsync(Ct).ToListAsync(Ct));
        Assert.True((await app.Feed.GetSweepAsync(Ct)).BackfillComplete);
    }

    [Fact]
    public async Task Sweep_NotificationLeftOwedByACrash_QueuesItOnceTheGraceHasPassed()
    {
        // Arrange: the worker appended the change (owing its notification), then failed before queuing it.
        await using var app = await ConsentApp.CreateAsync(new Dictionary<string, string?>
        {
            ["Notify:Url"] = "https://sender.example.com/hooks/consent",
            ["Notify:SigningSecret"] = "secret",
        });
        await app.AcceptAsync(ConsentApp.Event("evt-1", "owed@example.com"));
        await app.AcceptAsync(ConsentApp.Event("evt-2", "owed@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));
        var down = Substitute.For<INotificationQueue>();
        down.SendAsync(Arg.Any<long>(), Arg.Any<CancellationToken>()).Returns(Task.FromException(new Azure.RequestFailedException(503, "queue down")));
        var crashing = new ConsentFeedWorker(app.Feed, app.Services.GetRequiredService<IConsentChangeLog>(), down,
            app.Services.GetRequiredService<NotificationRules>(), app.Storage.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<ConsentFeedWorker>.Instance);
        var message = new ConsentFeedMessage(ConsentFeedMessage.CurrentVersion, EmailAddress.KeyOf("owed@example.com")).ToJson();
        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => new PublishConsentChanges(crashing).Run(QueueMessage(message), Ct));

        // Act
        var early = await app.SweepAsync();
        app.Storage.Time.Advance(ConsentFeedWorker.OwedNotificationGrace);
        var late = await app.SweepAsync();

        // Assert
        Assert.Equal(0, early.NotificationsQueued);
        Assert.Equal(1, late.NotificationsQueued);
        Assert.Equal([2L], (await app.PeekNotificationsAsync()).Select(n => n.Sequence));
        Assert.Empty(await app.Feed.OwedNotificationsAsync(Ct).ToListAsync(Ct));
    }

    private static Azure.Storage.Queues.Models.QueueMessage QueueMessage(string text) =>
        Azure.Storage.Queues.Models.QueuesModelFactory.QueueMessage("id", "pop", BinaryData.FromString(text), dequeueCount: 1);
}
