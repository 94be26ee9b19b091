using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Consent;

/// <summary>
/// The app's real composition root over Azurite tables and queues of one test (with a fake clock), driven like the host
/// would: events through the intake service, the feed and notify queues drained through their function classes, and
/// the consent API called through its function classes.
/// </summary>
internal sealed class ConsentApp : IAsyncDisposable
{
    public const string ApiKey = "consent-test-key-0123456789abcdef0123456789";

    private readonly ServiceProvider _services;

    private ConsentApp(TestStorage storage, ServiceProvider services)
    {
        Storage = storage;
        _services = services;
        Host = new QueueHostEmulator(storage.Clients.Queues);
    }

    public TestStorage Storage { get; }

    public IServiceProvider Services => _services;

    public QueueHostEmulator Host { get; }

    public IConsentFeed Feed => _services.GetRequiredService<IConsentFeed>();

    public ILedgerStore Ledger => _services.GetRequiredService<ILedgerStore>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The app with the consent API switched on; <paramref name="settings"/> add or replace settings (null removes one).
    /// The app runs on the test's fake clock unless <paramref name="systemClock"/>: the HTTP client's resilience pipeline
    /// takes its delays from the app's clock, so tests where a receiver fails (and retries wait) need the real one.
    /// </summary>
    public static async Task<ConsentApp> CreateAsync(IDictionary<string, string?>? settings = null, TestStorage? storage = null, bool createStorage = true, bool systemClock = false)
    {
        storage ??= new TestStorage();
        var all = new Dictionary<string, string?> { ["Consent:ApiKey"] = ApiKey, ["Notify:RetryBaseDelay"] = "00:00:00.010" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        if (createStorage)
        {
            await storage.Bootstrap.EnsureCreatedAsync(Ct);
        }

        var services = AppServices.Build(storage, sandbox: null, all, s => s.AddSingleton<TimeProvider>(systemClock ? TimeProvider.System : storage.Time));
        return new ConsentApp(storage, services);
    }

    public static ConsentEvent Event(string id, string email, ConsentEventType type = ConsentEventType.Unsubscribe, DateTimeOffset? occurredAt = null, string? salesforceId = null, string source = "link")
    {
        Assert.True(EmailAddress.TryCreate(email, out var address, out _));
        var at = occurredAt ?? DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        return new ConsentEvent(id, type, address!, salesforceId is null ? null : SalesforceId.Parse(salesforceId), at, at, source,
            type == ConsentEventType.Resubscribe ? "Asked to be emailed again" : null);
    }

    /// <summary>Records events as the webhook does (ledger, audit, push and feed queues).</summary>
    public Task AcceptAsync(params ConsentEvent[] events) => _services.GetRequiredService<IIntakeService>().AcceptAsync(events, Ct);

    /// <summary>Runs the feed worker for every message on the consent-feed queue.</summary>
    public Task<int> PublishAllAsync()
    {
        var function = new PublishConsentChanges(_services.GetRequiredService<ConsentFeedWorker>());
        return Host.DrainAsync(Storage.Names.ConsentFeedQueue, (m, ct) => function.Run(m, ct), Ct, maxDeliveries: int.MaxValue);
    }

    /// <summary>Runs the notification sender for every message on the notify queue (failures retried, then poisoned, as the host does).</summary>
    public Task<int> NotifyAllAsync()
    {
        var function = new SendConsentNotification(_services.GetRequiredService<NotificationSender>());
        return Host.DrainAsync(Storage.Names.NotifyQueue, (m, ct) => function.Run(m, ct), Ct, maxDeliveries: int.MaxValue);
    }

    /// <summary>Runs the poison drain for every message on notify-poison.</summary>
    public Task<int> DrainNotifyPoisonAsync()
    {
        var function = new RecordNotificationFailure(_services.GetRequiredService<NotificationSender>());
        return Host.DrainAsync(Storage.Names.NotifyPoisonQueue, (m, ct) => function.Run(m, ct), Ct, maxDeliveries: int.MaxValue);
    }

    public Task<ConsentSweepResult> SweepAsync() => _services.GetRequiredService<ConsentFeedWorker>().SweepAsync(Ct);

    public async Task<IReadOnlyList<NotificationMessage>> PeekNotificationsAsync()
    {
        PeekedMessage[] peeked = await Storage.Clients.Queues.GetQueueClient(Storage.Names.NotifyQueue).PeekMessagesAsync(32, Ct);
        return peeked.Select(m => NotificationMessage.FromJson(m.Body.ToString())).ToList();
    }

    /// <summary>Every entry of the feed, in order.</summary>
    public async Task<IReadOnlyList<FeedEntryEntity>> ReadFeedAsync()
    {
        var head = await Feed.GetHeadAsync(Ct);
        return await Feed.ReadAsync(0, head.LastSequence, int.MaxValue, Ct);
    }

    public async Task<HttpOutcome> GetChangesAsync(string? since = null, string? limit = null, string? accept = null, string? key = ApiKey)
    {
        var headers = new Dictionary<string, string>();
        if (accept is not null)
        {
            headers["Accept"] = accept;
        }

        if (key is not null)
        {
            headers["X-Consent-Key"] = key;
        }

        var request = HttpTestExtensions.GetRequest("/api/consent/changes", new Dictionary<string, string?> { ["since"] = since, ["limit"] = limit }, headers);
        var function = new GetConsentChanges(_services.GetRequiredService<ConsentChangesHandler>());
        return await (await function.Run(request, Ct)).ExecuteAsync();
    }

    public async Task<HttpOutcome> GetConsentAsync(string email, string? key = ApiKey)
    {
        var headers = key is null ? null : new Dictionary<string, string> { ["X-Consent-Key"] = key };
        var request = HttpTestExtensions.GetRequest("/api/consent/" + Uri.EscapeDataString(email), headers: headers);
        var function = new GetConsent(_services.GetRequiredService<ConsentLookupHandler>());
        return await (await function.Run(request, email, Ct)).ExecuteAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Storage.DisposeAsync();
    }
}
