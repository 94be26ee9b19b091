using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>The append-only audit table: every event and every Salesforce write attempt, per address.</summary>
public interface IAuditLog
{
    /// <summary>Adds an entry. Adding the same row key twice is not an error (a retried event), and never overwrites.</summary>
    Task AppendAsync(AuditEntity entry, CancellationToken cancellationToken);

    /// <summary>An address's history, oldest first.</summary>
    IAsyncEnumerable<AuditEntity> ReadAsync(string emailKey, CancellationToken cancellationToken);
}

/// <summary>
/// The Audit table, the index for per-address reads; with <paramref name="chain"/> every entry is also a line of the
/// day's hash chain. Order: the pending row first, then the Audit row, then the line (which clears the pending row), so
/// a crash anywhere leaves either nothing or a pending row the nightly repair finishes.
/// </summary>
public sealed class AuditLog(StorageClients clients, IOptions<StorageOptions> options, IAuditChain? chain = null) : IAuditLog
{
    private TableClient Table => clients.Tables.GetTableClient(options.Value.AuditTable);

    /// <summary>Row key for an event: sorts by when it happened, and is the same on every retry of that event.</summary>
    public static string EventRowKey(DateTimeOffset occurredAt, string eventId) =>
        $"{occurredAt.UtcDateTime:yyyyMMddTHHmmssfffffff}|event|{StableKey.Of(eventId)}";

    /// <summary>Row key for a Salesforce write outcome: two different outcomes for one record and event never share a key.</summary>
    public static string PushRowKey(DateTimeOffset at, string salesforceId, string eventId, string outcome) =>
        $"{at.UtcDateTime:yyyyMMddTHHmmssfffffff}|push|{salesforceId}|{StableKey.Of(eventId + "|" + outcome)[..16]}";

    public async Task AppendAsync(AuditEntity entry, CancellationToken cancellationToken)
    {
        if (chain is not null)
        {
            await chain.MarkPendingAsync(entry, cancellationToken);
        }

        try
        {
            await Table.AddEntityAsync(entry, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Already recorded by an earlier attempt of the same event: evidence is never rewritten. Whether that attempt
            // also chained it is unknown, so its pending row is left for the repair, which appends only a missing line.
            return;
        }

        if (chain is not null)
        {
            await chain.TryAppendAsync(entry, cancellationToken);
        }
    }

    public async IAsyncEnumerable<AuditEntity> ReadAsync(string emailKey, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {emailKey}");
        await foreach (var entry in Table.QueryAsync<AuditEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return entry;
        }
    }
}
