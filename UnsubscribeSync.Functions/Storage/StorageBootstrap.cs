using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// Creates the app's tables and queues once, as a start-up step of the worker. In Azure the Bicep template
/// creates them up front, so this only makes a fresh Azurite work without a setup step. Storage that is down
/// at start does not stop the worker: the webhook answers 503 until it is back, and a later start creates
/// what is missing.
/// </summary>
public sealed partial class StorageBootstrap(StorageClients clients, IOptions<StorageOptions> options, ILogger<StorageBootstrap> logger) : IHostedService
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            await EnsureCreatedAsync(timeout.Token);
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            Log.NotCreated(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Creates every table and queue the app uses; each call is idempotent.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        var names = options.Value;
        string[] tables = [names.LedgerTable, names.AuditTable, names.IntakeTable, names.SyncRunsTable, names.SyncStateTable, names.ConsentFeedTable];
        foreach (var table in tables)
        {
            await clients.Tables.CreateTableIfNotExistsAsync(table, cancellationToken);
        }

        string[] queues =
        [
            names.PushQueue, names.PushPoisonQueue, names.SyncBatchQueue, names.SyncBatchQueue + "-poison",
            names.ConsentFeedQueue, names.ConsentFeedPoisonQueue, names.NotifyQueue, names.NotifyPoisonQueue,
        ];
        foreach (var queue in queues)
        {
            await clients.Queues.GetQueueClient(queue).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Storage could not be prepared at start-up (tables and queues not created); the webhook answers 503 until storage is reachable")]
        public static partial void NotCreated(ILogger logger, Exception exception);
    }
}
