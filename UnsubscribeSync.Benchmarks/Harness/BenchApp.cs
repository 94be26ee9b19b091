using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Hosting;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>
/// The app's real DI graph (<see cref="HostingExtensions.AddUnsubscribeSync(IServiceCollection, IConfiguration)"/>)
/// on tables and queues unique to one scenario, with storage clients that count their requests.
/// Disposing deletes those tables and queues so Azurite does not grow across scenarios.
/// </summary>
public sealed class BenchApp : IAsyncDisposable
{
    public const string SigningSecret = "bench-signing-secret";

    private BenchApp(ServiceProvider services, StorageClients clients, StorageOptions names, RequestCounter counter, IConfiguration configuration)
    {
        Services = services;
        Clients = clients;
        Names = names;
        StorageRequests = counter;
        Configuration = configuration;
    }

    public ServiceProvider Services { get; }

    public StorageClients Clients { get; }

    public StorageOptions Names { get; }

    public IConfiguration Configuration { get; }

    /// <summary>Every request the app's storage clients sent (tables and queues).</summary>
    public RequestCounter StorageRequests { get; }

    /// <summary>Builds the graph. <paramref name="salesforce"/> points the Salesforce client at a sandbox.</summary>
    /// <param name="configureServices">Registers before the app does (the app's TryAdd keeps what it registers), e.g. a Salesforce request timer.</param>
    public static BenchApp Create(
        string storageConnectionString, SandboxHost? salesforce = null, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var values = new Dictionary<string, string?>
        {
            [StorageClients.ConnectionSetting] = storageConnectionString,
            ["Storage:LedgerTable"] = "BenchLedger" + suffix,
            ["Storage:AuditTable"] = "BenchAudit" + suffix,
            ["Storage:IntakeTable"] = "BenchIntake" + suffix,
            ["Storage:SyncRunsTable"] = "BenchSyncRuns" + suffix,
            ["Storage:SyncStateTable"] = "BenchSyncState" + suffix,
            ["Storage:ConsentFeedTable"] = "BenchConsentFeed" + suffix,
            [StorageOptions.PushQueueSetting] = "bench-push-" + suffix,
            [StorageOptions.SyncBatchQueueSetting] = "bench-batches-" + suffix,
            [StorageOptions.ConsentFeedQueueSetting] = "bench-feed-" + suffix,
            [StorageOptions.NotifyQueueSetting] = "bench-notify-" + suffix,
            ["Webhook:SigningSecret"] = SigningSecret,
            ["Sync:NightlyEnabled"] = "true",
            ["Sync:TargetField"] = "EmailOptOut",
        };
        if (salesforce is not null)
        {
            values["Salesforce:LoginUrl"] = salesforce.BaseAddress.ToString();
            values["Salesforce:ClientId"] = SandboxHost.ClientId;
            values["Salesforce:ClientSecret"] = SandboxHost.ClientSecret;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var counter = new RequestCounter();
        var clients = CountingClients(storageConnectionString, counter);

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);

        // Registered first, so the composition root's TryAdd keeps these counting clients.
        services.AddSingleton(clients);
        configureServices?.Invoke(services);
        services.AddUnsubscribeSync(configuration);
        if (!services.Any(d => d.ServiceType == typeof(ISalesforceClient)))
        {
            services.AddSalesforce(configuration);
        }

        if (!services.Any(d => d.ServiceType == typeof(INightlySyncService)))
        {
            services.AddNightlySync(configuration);
        }

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = false, ValidateScopes = false });
        var names = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
        return new BenchApp(provider, clients, names, counter, configuration);
    }

    /// <summary>Runs the app's start-up steps (its hosted services: tables and queues created), as the Functions host does before the first invocation.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var service in Services.GetServices<IHostedService>())
        {
            await service.StartAsync(ct);
        }
    }

    /// <summary>Storage clients configured as <see cref="StorageClients.FromConnectionString"/> does, plus a request counter.</summary>
    public static StorageClients CountingClients(string connectionString, RequestCounter counter)
    {
        var tableOptions = new TableClientOptions();
        Configure(tableOptions.Retry);
        tableOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        Configure(queueOptions.Retry);
        queueOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        return new StorageClients(new TableServiceClient(connectionString, tableOptions), new QueueServiceClient(connectionString, queueOptions));

        static void Configure(RetryOptions retry)
        {
            retry.MaxRetries = 2;
            retry.Delay = TimeSpan.FromMilliseconds(200);
            retry.MaxDelay = TimeSpan.FromSeconds(2);
            retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Best effort, bounded: Azurite is in-memory and goes away with the run, and a clean-up
        // failure must not hide the scenario's own result or exception.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            foreach (var table in new[] { Names.LedgerTable, Names.AuditTable, Names.IntakeTable, Names.SyncRunsTable, Names.SyncStateTable, Names.ConsentFeedTable })
            {
                await Clients.Tables.DeleteTableAsync(table, timeout.Token);
            }

            foreach (var queue in new[]
            {
                Names.PushQueue, Names.PushPoisonQueue, Names.SyncBatchQueue, Names.SyncBatchQueue + "-poison",
                Names.ConsentFeedQueue, Names.ConsentFeedPoisonQueue, Names.NotifyQueue, Names.NotifyPoisonQueue,
            })
            {
                await Clients.Queues.GetQueueClient(queue).DeleteIfExistsAsync(cancellationToken: timeout.Token);
            }
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or AggregateException or HttpRequestException)
        {
            // Left behind; harmless.
        }

        await Services.DisposeAsync();
    }
}
