using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Hosting;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// The app's real service graph (<c>AddUnsubscribeSync</c>) over Azurite tables/queues unique to one test and
/// the shared sandbox, driven like the host would: the timer function, then every queued batch until the
/// queue is empty. Our clock (a FakeTimeProvider) and the sandbox's clock are kept in step.
/// </summary>
internal sealed class SyncHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly bool _ownsStorage;

    private SyncHarness(SalesforceSandboxFixture sandbox, TestStorage storage, ServiceProvider services, bool ownsStorage)
    {
        Sandbox = sandbox;
        Storage = storage;
        _services = services;
        _ownsStorage = ownsStorage;
        Queue = storage.Clients.Queues.GetQueueClient(storage.Names.SyncBatchQueue);
    }

    public SalesforceSandboxFixture Sandbox { get; }

    public TestStorage Storage { get; }

    public QueueClient Queue { get; }

    public IServiceProvider Services => _services;

    public NightlySync Timer => new(_services.GetRequiredService<INightlySyncService>());

    public RunSyncBatch Batch => new(_services.GetRequiredService<ISyncBatchRunner>());

    public SyncRunStore Runs => _services.GetRequiredService<SyncRunStore>();

    public ILedgerStore Ledger => _services.GetRequiredService<ILedgerStore>();

    public IIntakeService Intake => _services.GetRequiredService<IIntakeService>();

    // configureServices registers before the app does, e.g. an HTTP handler that holds a request at a chosen point.
    public static async Task<SyncHarness> CreateAsync(
        SalesforceSandboxFixture sandbox, IDictionary<string, string?>? settings = null, bool reset = true, Action<IServiceCollection>? configureServices = null)
    {
        var harness = Build(sandbox, new TestStorage(), ownsStorage: true, settings, configureServices);
        var ct = TestContext.Current.CancellationToken;
        if (reset)
        {
            await sandbox.Control.ResetAsync(ct);
        }

        await harness.SyncClocksAsync();
        await harness.Storage.Bootstrap.EnsureCreatedAsync(ct);
        return harness;
    }

    /// <summary>
    /// The app as it runs after an admin changed its App Settings (the host restarts): a new service graph with
    /// <paramref name="settings"/> over this harness's storage and clock. Dispose it before this one.
    /// </summary>
    public SyncHarness Reconfigure(IDictionary<string, string?> settings) => Build(Sandbox, Storage, ownsStorage: false, settings, configureServices: null);

    private static SyncHarness Build(
        SalesforceSandboxFixture sandbox, TestStorage storage, bool ownsStorage, IDictionary<string, string?>? settings, Action<IServiceCollection>? configureServices)
    {
        var names = storage.Names;
        var configuration = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Storage:LedgerTable"] = names.LedgerTable,
            ["Storage:AuditTable"] = names.AuditTable,
            ["Storage:IntakeTable"] = names.IntakeTable,
            ["Storage:SyncRunsTable"] = names.SyncRunsTable,
            ["Storage:SyncStateTable"] = names.SyncStateTable,
            ["Storage:ConsentFeedTable"] = names.ConsentFeedTable,
            ["PushQueueName"] = names.PushQueue,
            ["SyncBatchQueueName"] = names.SyncBatchQueue,
            ["ConsentFeedQueueName"] = names.ConsentFeedQueue,
            ["NotifyQueueName"] = names.NotifyQueue,
            ["Salesforce:LoginUrl"] = sandbox.BaseAddress.ToString(),
            ["Salesforce:ClientId"] = sandbox.ClientId,
            ["Salesforce:ClientSecret"] = sandbox.ClientSecret,
            ["Salesforce:MaxRetryAttempts"] = "1",
            ["Salesforce:RetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(storage.Time);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        configureServices?.Invoke(services);
        services.AddUnsubscribeSync(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        return new SyncHarness(sandbox, storage, provider, ownsStorage);
    }

    /// <summary>Moves our clock on and the sandbox's with it.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Storage.Time.Advance(by);
        await SyncClocksAsync();
    }

    /// <summary>Sets the sandbox clock to ours (to the second).</summary>
    public Task SyncClocksAsync() => Sandbox.Control.UpdateSettingsAsync(
        new SandboxSettingsUpdate { ClockOffsetSeconds = (int)Math.Round((Storage.Time.GetUtcNow() - DateTimeOffset.UtcNow).TotalSeconds) },
        TestContext.Current.CancellationToken);

    /// <summary>Fires the timer as the host would.</summary>
    public Task TickAsync(bool isPastDue = false) =>
        Timer.Run(new TimerInfo { IsPastDue = isPastDue }, TestContext.Current.CancellationToken);

    /// <summary>Receives and runs queued batches (each received set in parallel, like the host) until the queue is empty or <paramref name="maxBatches"/> ran.</summary>
    public async Task<int> DrainAsync(int maxBatches = int.MaxValue)
    {
        var ct = TestContext.Current.CancellationToken;
        var ran = 0;
        while (ran < maxBatches)
        {
            var received = (await Queue.ReceiveMessagesAsync(Math.Min(16, maxBatches - ran), TimeSpan.FromMinutes(5), ct)).Value;
            if (received.Length == 0)
            {
                return ran;
            }

            await Task.WhenAll(received.Select(async message =>
            {
                await Batch.Run(message, ct);
                await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
            }));
            ran += received.Length;
        }

        return ran;
    }

    /// <summary>One tick, then every batch it leads to.</summary>
    public async Task<SyncRunEntity> RunNightlyAsync()
    {
        await TickAsync();
        await DrainAsync();
        return await LatestRunAsync();
    }

    public async Task<SyncRunEntity> LatestRunAsync() =>
        (await Runs.ListRunsAsync(TestContext.Current.CancellationToken)).First();

    public static SyncCounters Report(SyncRunEntity run) => SyncCounters.FromJson(run.ReportJson);

    /// <summary>Accepts webhook events through the real intake (ledger + audit; the push queue is left alone).</summary>
    public async Task UnsubscribeAsync(string id, string email, string? salesforceId, DateTimeOffset occurredAt, ConsentEventType type = ConsentEventType.Unsubscribe)
    {
        EmailAddress.TryCreate(email, out var address, out _);
        var e = new ConsentEvent(id, type, address!, salesforceId is null ? null : SalesforceId.Parse(salesforceId), occurredAt, Storage.Time.GetUtcNow(), "link", null);
        await Intake.AcceptAsync([e], TestContext.Current.CancellationToken);
    }

    /// <summary>Delivers every queued push message to the push function, as the host would.</summary>
    public Task<int> PushAsync()
    {
        var function = new PushToSalesforce(_services.GetRequiredService<IPushService>());
        return new QueueHostEmulator(Storage.Clients.Queues).DrainAsync(Storage.Names.PushQueue, function.Run, TestContext.Current.CancellationToken);
    }

    public async Task<LedgerRecord?> GetLedgerAsync(string email)
    {
        EmailAddress.TryCreate(email, out var address, out _);
        return await Ledger.GetAsync(address!.Key, TestContext.Current.CancellationToken);
    }

    public async Task<bool> SalesforceOptOutAsync(string id)
    {
        var record = await Sandbox.Control.GetRecordAsync(id, TestContext.Current.CancellationToken);
        return record["HasOptedOutOfEmail"]?.GetValue<bool>() ?? false;
    }

    public TableClient LedgerTable => Storage.Clients.Tables.GetTableClient(Storage.Names.LedgerTable);

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_ownsStorage)
        {
            await Storage.DisposeAsync();
        }
    }
}
