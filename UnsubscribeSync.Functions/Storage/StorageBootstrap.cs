using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// Creates the app's tables and queues once per process. In Azure the Bicep template creates them
/// up front; locally and in tests this makes a fresh Azurite work without a setup step.
/// </summary>
public sealed class StorageBootstrap(StorageClients clients, IOptions<StorageOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_ready)
            {
                return;
            }

            var names = options.Value;
            string[] tables = [names.LedgerTable, names.AuditTable, names.IntakeTable, names.SyncRunsTable, names.SyncStateTable];
            foreach (var table in tables)
            {
                await clients.Tables.CreateTableIfNotExistsAsync(table, cancellationToken);
            }

            string[] queues = [names.PushQueue, names.PushPoisonQueue, names.SyncBatchQueue, names.SyncBatchQueue + "-poison"];
            foreach (var queue in queues)
            {
                await clients.Queues.GetQueueClient(queue).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }

            _ready = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
