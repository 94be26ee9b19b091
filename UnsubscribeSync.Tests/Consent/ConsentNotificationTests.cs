using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;
using UnsubscribeSync.Tests.Sync;

namespace UnsubscribeSync.Tests.Consent;

/// <summary>
/// Notifications end to end over real HTTP: a change the sender did not make reaches <c>Notify__Url</c> signed as our
/// webhook checks signatures; the sender's own unsubscribes are not echoed back; failures are retried, then recorded.
/// </summary>
public sealed class ConsentNotificationTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string Secret = "notify-signing-secret-for-tests";
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private NotificationReceiver _receiver = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _receiver = await NotificationReceiver.StartAsync();

    public ValueTask DisposeAsync() => _receiver.DisposeAsync();

    private Dictionary<string, string?> NotifySettings() => new()
    {
        ["Consent:ApiKey"] = ConsentApp.ApiKey,
        ["Notify:Url"] = _receiver.Url.ToString(),
        ["Notify:SigningSecret"] = Secret,
        ["Notify:RetryBaseDelay"] = "00:00:00.010",
    };

    private static WebhookSignatureVerifier Verifier(TimeProvider time) => new(Options.Create(new WebhookOptions { SigningSecret = Secret }), time);

    [Fact]
    public async Task NightlySync_OptOutMadeInSalesforce_IsInTheFeedAndPostedSignedToTheSender()
    {
        // Arrange: a rep ticks Email Opt Out on a Contact in Salesforce.
        await using var h = await SyncHarness.CreateAsync(sandbox, NotifySettings());
        var id = Assert.Single(await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("rep.optout@example.com", optedOut: true)], Ct));
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        var host = new QueueHostEmulator(h.Storage.Clients.Queues);
        var publish = new PublishConsentChanges(h.Services.GetRequiredService<ConsentFeedWorker>());
        var send = new SendConsentNotification(h.Services.GetRequiredService<NotificationSender>());

        // Act
        await h.RunNightlyAsync();
        await host.DrainAsync(h.Storage.Names.ConsentFeedQueue, publish.Run, Ct);
        await host.DrainAsync(h.Storage.Names.NotifyQueue, send.Run, Ct);

        // Assert: the feed holds the change, and the sender got it once, signed.
        var feed = h.Services.GetRequiredService<IConsentFeed>();
        var entry = Assert.Single(await feed.ReadAsync(0, 10, 10, Ct));
        Assert.Equal(("rep.optout@example.com", "Unsubscribed", "salesforce", "nightly-sync", id), (entry.Email, entry.State, entry.Source, entry.Channel, entry.SalesforceId));
        var received = Assert.Single(_receiver.Received);
        Assert.Null(Verifier(h.Storage.Time).Verify(received.Headers[NotifyOptions.SignatureHeader], received.Body));
        Assert.StartsWith("application/json", received.Headers["Content-Type"]);
        Assert.Equal("1", received.Headers[NotificationClient.SequenceHeader]);
        var body = NotificationBody.FromUtf8(received.Body);
        Assert.Equal((1, 1L, "rep.optout@example.com", "unsubscribed", "nightly-sync"), (body.V, body.Change.Sequence, body.Change.Email, body.Change.State, body.Change.Channel));
        var audit = await h.Services.GetRequiredService<IAuditLog>().ReadAsync(EmailAddress.KeyOf("rep.optout@example.com"), Ct).ToListAsync(Ct);
        Assert.Contains(audit, a => a is { Kind: "notify", Outcome: "notified" });
    }

    [Fact]
    public async Task Webhook_SendersOwnUnsubscribe_IsInTheFeedButNotEchoedBack()
    {
        // Arrange
        await using var app = await ConsentApp.CreateAsync(NotifySettings());
        await app.AcceptAsync(ConsentApp.Event("evt-1", "own@example.com"));

        // Act
        await app.PublishAllAsync();
        await app.NotifyAllAsync();

        // Assert
        Assert.Single(await app.ReadFeedAsync());
        Assert.Empty(await app.PeekNotificationsAsync());
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task Webhook_Resubscribe_IsPostedSignedAndAudited()
    {
        // Arrange
        await using var app = await ConsentApp.CreateAsync(NotifySettings());
        await app.AcceptAsync(ConsentApp.Event("evt-1", "back@example.com"));
        await app.AcceptAsync(ConsentApp.Event("evt-2", "back@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));

        // Act
        await app.PublishAllAsync();
        await app.NotifyAllAsync();

        // Assert
        var received = Assert.Single(_receiver.Received);
        Assert.Null(Verifier(app.Storage.Time).Verify(received.Headers[NotifyOptions.SignatureHeader], received.Body));
        var body = NotificationBody.FromUtf8(received.Body);
        Assert.Equal((2L, "subscribed", "resubscribe", "evt-2"), (body.Change.Sequence, body.Change.State, body.Change.Type, body.Change.EventId));
        var audit = await app.Services.GetRequiredService<IAuditLog>().ReadAsync(EmailAddress.KeyOf("back@example.com"), Ct).ToListAsync(Ct);
        Assert.Single(audit, a => a is { Kind: "notify", Outcome: "notified" });
    }

    [Fact]
    public async Task Send_ReceiverKeepsFailing_RetriesThenTheDrainRecordsTheFailure()
    {
        // Arrange
        await using var app = await ConsentApp.CreateAsync(NotifySettings(), systemClock: true);
        _receiver.Status = 500;
        await app.AcceptAsync(ConsentApp.Event("evt-1", "fail@example.com"));
        await app.AcceptAsync(ConsentApp.Event("evt-2", "fail@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));
        await app.PublishAllAsync();

        // Act
        await app.NotifyAllAsync();
        var drained = await app.DrainNotifyPoisonAsync();

        // Assert: every queue attempt made its own retries, then the message went to the poison queue and was recorded.
        Assert.Equal(1, drained);
        Assert.Equal(QueueHostEmulator.MaxDequeueCount * 3, _receiver.Received.Count);
        var failure = Assert.Single(await app.Feed.NotificationFailuresAsync(Ct).ToListAsync(Ct));
        Assert.Equal((2L, true, "HTTP 500", QueueHostEmulator.MaxDequeueCount), (failure.Sequence, failure.GaveUp, failure.LastError, failure.Attempts));
        var audit = await app.Services.GetRequiredService<IAuditLog>().ReadAsync(EmailAddress.KeyOf("fail@example.com"), Ct).ToListAsync(Ct);
        var recorded = Assert.Single(audit, a => a is { Kind: "notify", Outcome: "notify-failed" });
        Assert.Contains("HTTP 500", recorded.Detail);
        Assert.Empty(await app.PeekNotificationsAsync());
    }

    [Fact]
    public async Task Send_ReceiverRecovers_DeliversAndClearsTheFailureRecord()
    {
        // Arrange: the first queue attempt meets an outage.
        await using var app = await ConsentApp.CreateAsync(NotifySettings(), systemClock: true);
        await app.AcceptAsync(ConsentApp.Event("evt-1", "flaky@example.com"));
        await app.AcceptAsync(ConsentApp.Event("evt-2", "flaky@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));
        await app.PublishAllAsync();
        var send = new SendConsentNotification(app.Services.GetRequiredService<NotificationSender>());
        _receiver.Status = 503;
        await app.Host.DeliverOnceAsync(app.Storage.Names.NotifyQueue, send.Run, Ct);
        var during = await app.Feed.GetNotificationFailureAsync(2, Ct);

        // Act
        _receiver.Status = 200;
        await app.NotifyAllAsync();

        // Assert
        Assert.Equal(("HTTP 503", false), (during!.LastError, during.GaveUp));
        Assert.Null(await app.Feed.GetNotificationFailureAsync(2, Ct));
        Assert.Equal(3 + 1, _receiver.Received.Count);
    }

    [Fact]
    public async Task Publish_NotificationsSwitchedOff_OwesNone()
    {
        // Arrange
        await using var app = await ConsentApp.CreateAsync();
        await app.AcceptAsync(ConsentApp.Event("evt-1", "quiet@example.com"));
        await app.AcceptAsync(ConsentApp.Event("evt-2", "quiet@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));

        // Act
        await app.PublishAllAsync();

        // Assert
        Assert.Equal(2, (await app.ReadFeedAsync()).Count);
        Assert.Empty(await app.Feed.OwedNotificationsAsync(Ct).ToListAsync(Ct));
        Assert.Empty(await app.PeekNotificationsAsync());
    }
}
