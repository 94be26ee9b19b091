using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// Real Azurite storage with tables and queues unique to one test, removed afterwards. Azurite is
/// started by scripts/test.sh; <c>UNSUBSCRIBESYNC_TEST_STORAGE</c> overrides the connection string.
/// </summary>
public sealed class TestStorage : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account, pointed at a port nothing listens on.</summary>
    public const string UnreachableConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;";

    public TestStorage(string? connectionString = null)
    {
        ConnectionString = connectionString ?? DefaultConnectionString;
        var suffix = Guid.NewGuid().ToString("N")[..10];
        Names = new StorageOptions
        {
            LedgerTable = "Ledger" + suffix,
            AuditTable = "Audit" + suffix,
            IntakeTable = "Intake" + suffix,
            SyncRunsTable = "SyncRuns" + suffix,
            SyncStateTable = "SyncState" + suffix,
            ConsentFeedTable = "ConsentFeed" + suffix,
            PushQueue = "push-" + suffix,
            SyncBatchQueue = "batches-" + suffix,
            ConsentFeedQueue = "feed-" + suffix,
            NotifyQueue = "notify-" + suffix,
        };
        Clients = StorageClients.FromConnectionString(ConnectionString);
        Options = Microsoft.Extensions.Options.Options.Create(Names);
        Bootstrap = new StorageBootstrap(Clients, Options, NullLogger<StorageBootstrap>.Instance);
    }

    /// <summary>The emulator the tests use: <c>UNSUBSCRIBESYNC_TEST_STORAGE</c>, or Azurite on its default ports.</summary>
    public static string DefaultConnectionString =>
        Environment.GetEnvironmentVariable("UNSUBSCRIBESYNC_TEST_STORAGE") ?? "UseDevelopmentStorage=true";

    public string ConnectionString { get; }

    public StorageOptions Names { get; }

    public IOptions<StorageOptions> Options { get; }

    public StorageClients Clients { get; }

    /// <summary>The app's start-up step that creates the tables and queues; tests run it where the host would.</summary>
    public StorageBootstrap Bootstrap { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public LedgerStore Ledger => new(Clients, Options, FeedQueue, Time, NullLogger<LedgerStore>.Instance);

    public ConsentFeedQueue FeedQueue => new(Clients, Options);

    public ConsentFeed Feed => new(Clients, Options, Ledger, Time);

    public QueueClient FeedQueueClient => Clients.Queues.GetQueueClient(Names.ConsentFeedQueue);

    public AuditLog Audit => new(Clients, Options);

    public IntakeRecords IntakeRecords => new(Clients, Options);

    public PushQueue PushQueue => new(Clients, Options);

    public QueueClient PushQueueClient => Clients.Queues.GetQueueClient(Names.PushQueue);

    /// <summary>An intake service over this storage; parts can be swapped to inject faults.</summary>
    public IntakeService CreateIntake(ILedgerStore? ledger = null, IPushQueue? pushQueue = null, IAuditLog? audit = null) =>
        new(IntakeRecords, ledger ?? Ledger, audit ?? Audit, pushQueue ?? PushQueue, Time, NullLogger<IntakeService>.Instance);

    /// <summary>Every message on the push queue, decoded, without removing them.</summary>
    public async Task<IReadOnlyList<PushMessage>> PeekPushMessagesAsync(CancellationToken cancellationToken)
    {
        PeekedMessage[] peeked = await PushQueueClient.PeekMessagesAsync(32, cancellationToken);
        return peeked.Select(m => PushMessage.FromJson(m.Body.ToString())).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var table in new[] { Names.LedgerTable, Names.AuditTable, Names.IntakeTable, Names.SyncRunsTable, Names.SyncStateTable, Names.ConsentFeedTable })
        {
            await IgnoreFailure(() => Clients.Tables.DeleteTableAsync(table));
        }

        foreach (var queue in new[]
        {
            Names.PushQueue, Names.PushPoisonQueue, Names.SyncBatchQueue, Names.SyncBatchQueue + "-poison",
            Names.ConsentFeedQueue, Names.ConsentFeedPoisonQueue, Names.NotifyQueue, Names.NotifyPoisonQueue,
        })
        {
            await IgnoreFailure(() => Clients.Queues.DeleteQueueAsync(queue));
        }
    }

    private static async Task IgnoreFailure(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception)
        {
            // Clean-up is best effort: Azurite runs in memory and is discarded after the run anyway.
        }
    }
}
