using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Status;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Status;

/// <summary>
/// The app's real composition root over one test's Azurite tables and queues (fake clock) and, when given, the
/// Salesforce sandbox; every storage request the app makes is counted, so tests can show what a status request costs.
/// </summary>
internal sealed class StatusApp : IAsyncDisposable
{
    public const string AdminKey = "admin-test-key-0123456789abcdef0123456789";

    private readonly ServiceProvider _services;

    private StatusApp(TestStorage storage, ServiceProvider services, RequestCounter counter)
    {
        Storage = storage;
        _services = services;
        Requests = counter;
    }

    public TestStorage Storage { get; }

    public IServiceProvider Services => _services;

    /// <summary>Storage requests the app has sent (tables and queues).</summary>
    public RequestCounter Requests { get; }

    public LedgerCensus Census => _services.GetRequiredService<LedgerCensus>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<StatusApp> CreateAsync(SalesforceSandboxFixture? sandbox, IDictionary<string, string?>? settings = null, string? connectionString = null)
    {
        var storage = new TestStorage(connectionString);
        var all = new Dictionary<string, string?> { ["Admin:ApiKey"] = AdminKey };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        if (connectionString is null)
        {
            await storage.Bootstrap.EnsureCreatedAsync(Ct);
        }

        // The counter sits per call, above the SDK's retries, so a retried request still counts once. Against Azurite the
        // SDK retries as it does in Azure (a loaded 2-core machine once stalled one answer past a 5-second timeout); against
        // the unreachable endpoint a test wants the failure at once.
        var counter = new RequestCounter();
        var (retries, timeout) = connectionString is null ? (3, TimeSpan.FromSeconds(30)) : (0, TimeSpan.FromSeconds(5));
        var tableOptions = new TableClientOptions { Retry = { MaxRetries = retries, NetworkTimeout = timeout } };
        tableOptions.AddPolicy(counter, HttpPipelinePosition.PerCall);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64, Retry = { MaxRetries = retries, NetworkTimeout = timeout } };
        queueOptions.AddPolicy(counter, HttpPipelinePosition.PerCall);
        var clients = new StorageClients(new TableServiceClient(storage.ConnectionString, tableOptions), new QueueServiceClient(storage.ConnectionString, queueOptions));

        var services = AppServices.Build(storage, sandbox, all, s =>
        {
            s.AddSingleton<TimeProvider>(storage.Time);
            s.AddSingleton(clients);
        });
        return new StatusApp(storage, services, counter);
    }

    public async Task<HttpOutcome> GetStatusAsync(string? key = AdminKey)
    {
        var headers = key is null ? null : new Dictionary<string, string> { ["X-Admin-Key"] = key };
        var function = new GetStatus(_services.GetRequiredService<StatusHandler>());
        return await (await function.Run(HttpTestExtensions.GetRequest("/api/status", headers: headers), Ct)).ExecuteAsync();
    }

    public async Task<HttpOutcome> GetPageAsync(string? queryKey = AdminKey)
    {
        var function = new GetStatusPage(_services.GetRequiredService<StatusHandler>());
        var request = HttpTestExtensions.GetRequest("/api/status/page", new Dictionary<string, string?> { ["key"] = queryKey });
        return await (await function.Run(request, Ct)).ExecuteAsync();
    }

    /// <summary><c>POST /api/links/retry</c> with <paramref name="query"/>, as the host hands it to the function.</summary>
    public async Task<HttpOutcome> RetryLinksAsync(IDictionary<string, string?>? query = null, string? key = AdminKey)
    {
        var headers = key is null ? null : new Dictionary<string, string> { ["X-Admin-Key"] = key };
        var request = HttpTestExtensions.GetRequest("/api/links/retry", query, headers);
        request.Method = "POST";
        var function = new RetryLinks(_services.GetRequiredService<LinkRetryHandler>());
        return await (await function.Run(request, Ct)).ExecuteAsync();
    }

    /// <summary>Delivers every queued push message to the push function, as the host would; returns how many it handled.</summary>
    public Task<int> DrainPushAsync()
    {
        var function = new PushToSalesforce(_services.GetRequiredService<Functions.Push.IPushService>());
        return new QueueHostEmulator(Storage.Clients.Queues).DrainAsync(Storage.Names.PushQueue, function.Run, Ct);
    }

    /// <summary>Runs census ticks (as the CountLedger timer does) until a count completes; returns how many ticks it took.</summary>
    public async Task<int> CountLedgerAsync()
    {
        for (var ticks = 1; ticks <= 1000; ticks++)
        {
            if (await Census.TickAsync(Ct) == CensusTickOutcome.Completed)
            {
                return ticks;
            }
        }

        throw new InvalidOperationException("The census did not complete in 1000 ticks.");
    }

    /// <summary>Writes ledger rows directly: <paramref name="addresses"/> addresses with <paramref name="linksEach"/> links each, shaped by <paramref name="shape"/>.</summary>
    public async Task SeedLedgerAsync(int addresses, int linksEach, Action<int, RecordLinkEntity>? shape = null, bool awaitingId = false)
    {
        var table = Storage.Clients.Tables.GetTableClient(Storage.Names.LedgerTable);
        var now = Storage.Time.GetUtcNow();
        var serial = 0;
        for (var a = 0; a < addresses; a++)
        {
            var email = $"person{a}@example.com";
            var key = EmailAddress.KeyOf(email);
            var rows = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.UpsertReplace, new ConsentStateEntity
                {
                    PartitionKey = key, Email = email, State = nameof(ConsentState.Unsubscribed), StateSince = now, DecidedAt = now,
                    AwaitingSalesforceId = awaitingId && linksEach == 0, CreatedAt = now, UpdatedAt = now,
                }),
            };
            for (var l = 0; l < linksEach; l++)
            {
                var link = RecordLinkEntity.Create(key, ContactId(serial), true, "event", "evt-" + serial, now);
                link.MarkSynced(now, attempted: true, "HasOptedOutOfEmail");
                shape?.Invoke(serial, link);
                serial++;
                rows.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, link));
                if (rows.Count == 100)
                {
                    await table.SubmitTransactionAsync(rows, Ct);
                    rows.Clear();
                }
            }

            if (rows.Count > 0)
            {
                await table.SubmitTransactionAsync(rows, Ct);
            }
        }
    }

    /// <summary>Writes a completed (or still running) nightly run row with the given report.</summary>
    public async Task SeedRunAsync(DateTimeOffset startedAt, SyncCounters report, bool completed = true, string mode = "incremental")
    {
        var table = Storage.Clients.Tables.GetTableClient(Storage.Names.SyncRunsTable);
        var run = new SyncRunEntity
        {
            PartitionKey = $"{startedAt.UtcDateTime:yyyyMMddTHHmmss}-{Guid.NewGuid().ToString("N")[..8]}",
            Mode = mode,
            Phase = completed ? nameof(SyncPhase.Completed) : nameof(SyncPhase.Outbound),
            StartedAt = startedAt,
            EndedAt = completed ? startedAt.AddMinutes(3) : null,
            Until = startedAt,
            ReportJson = completed ? report.ToJson() : null,
        };
        await table.AddEntityAsync(run, Ct);
    }

    /// <summary>A valid Contact Id for a serial number.</summary>
    public static SalesforceId ContactId(int serial) => SalesforceId.Parse("0035g" + serial.ToString("D10", System.Globalization.CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Storage.DisposeAsync();
    }

    /// <summary>Counts every request sent through a storage client's pipeline.</summary>
    internal sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Reset() => Interlocked.Exchange(ref _count, 0);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
    }
}
