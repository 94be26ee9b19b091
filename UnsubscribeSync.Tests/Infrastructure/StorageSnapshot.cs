using Azure.Data.Tables;
using Azure.Storage.Queues.Models;
using UnsubscribeSync.Functions.Push;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>Where a row lives: its table (the option's name, such as <c>IntakeTable</c>) and its keys.</summary>
public readonly record struct RowId(string Table, string PartitionKey, string RowKey)
{
    public override string ToString() => $"{Table}({PartitionKey}, {RowKey})";
}

/// <summary>
/// Every row of the intake, ledger and audit tables and every push message sent so far, at one moment: what a webhook
/// request may write. Take one before and one after a request and <see cref="Diff"/> them to see exactly what it wrote.
/// </summary>
public sealed record StorageSnapshot(IReadOnlyDictionary<RowId, TableEntity> Rows, IReadOnlyList<PushMessage> PushMessages)
{
    /// <summary>The rows of one table.</summary>
    public IEnumerable<TableEntity> RowsOf(string table) => Rows.Where(r => r.Key.Table == table).Select(r => r.Value);

    /// <summary>One row, or null.</summary>
    public TableEntity? Row(string table, string partitionKey, string rowKey) =>
        Rows.GetValueOrDefault(new RowId(table, partitionKey, rowKey));

    /// <summary>What changed from <paramref name="before"/> to this snapshot.</summary>
    public StorageDiff Diff(StorageSnapshot before)
    {
        var added = Rows.Keys.Where(k => !before.Rows.ContainsKey(k)).ToList();
        var changed = Rows.Keys.Where(k => before.Rows.TryGetValue(k, out var old) && old.ETag != Rows[k].ETag).ToList();
        var removed = before.Rows.Keys.Where(k => !Rows.ContainsKey(k)).ToList();
        return new StorageDiff(added, changed, removed, PushMessages.Skip(before.PushMessages.Count).ToList());
    }
}

/// <summary>The rows and messages one step wrote.</summary>
public sealed record StorageDiff(
    IReadOnlyList<RowId> Added,
    IReadOnlyList<RowId> Changed,
    IReadOnlyList<RowId> Removed,
    IReadOnlyList<PushMessage> PushMessages)
{
    public IEnumerable<RowId> Written => Added.Concat(Changed);

    public bool IsEmpty => Added.Count == 0 && Changed.Count == 0 && Removed.Count == 0 && PushMessages.Count == 0;

    public override string ToString() =>
        $"added [{string.Join(", ", Added)}], changed [{string.Join(", ", Changed)}], removed [{string.Join(", ", Removed)}], "
        + $"{PushMessages.Count} push messages ({string.Join(", ", PushMessages.Select(m => m.EventId + "->" + m.SalesforceId))})";
}

/// <summary>
/// Takes <see cref="StorageSnapshot"/>s of one <see cref="TestStorage"/>. A peek shows at most 32 queue messages, so the
/// probe takes the push messages off the queue as it records them and keeps them: a snapshot lists every message sent
/// since the probe began. Use it only where nothing else consumes the push queue.
/// </summary>
public sealed class StorageProbe(TestStorage storage)
{
    /// <summary>The tables a webhook request may write, by the name of their option.</summary>
    public static readonly IReadOnlyList<string> Tables = ["IntakeTable", "LedgerTable", "AuditTable"];

    private readonly List<PushMessage> _pushMessages = [];

    public async Task<StorageSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var rows = new Dictionary<RowId, TableEntity>();
        foreach (var table in Tables)
        {
            await foreach (var row in TableClient(table).QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            {
                rows[new RowId(table, row.PartitionKey, row.RowKey)] = row;
            }
        }

        await DrainPushQueueAsync(cancellationToken);
        return new StorageSnapshot(rows, _pushMessages.ToList());
    }

    /// <summary>Deletes every row of <paramref name="snapshot"/>, so the next test on this storage starts from nothing.</summary>
    public async Task DeleteRowsAsync(StorageSnapshot snapshot, CancellationToken cancellationToken)
    {
        foreach (var id in snapshot.Rows.Keys)
        {
            await TableClient(id.Table).DeleteEntityAsync(id.PartitionKey, id.RowKey, Azure.ETag.All, cancellationToken);
        }
    }

    private TableClient TableClient(string table) => storage.Clients.Tables.GetTableClient(table switch
    {
        "IntakeTable" => storage.Names.IntakeTable,
        "LedgerTable" => storage.Names.LedgerTable,
        "AuditTable" => storage.Names.AuditTable,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "not a table a webhook request writes"),
    });

    private async Task DrainPushQueueAsync(CancellationToken cancellationToken)
    {
        var queue = storage.PushQueueClient;
        const int MaxPerReceive = 32;
        QueueMessage[] received;
        var any = false;
        do
        {
            // Received messages stay invisible until the queue is cleared below, so each is read once.
            received = await queue.ReceiveMessagesAsync(MaxPerReceive, TimeSpan.FromMinutes(5), cancellationToken);
            _pushMessages.AddRange(received.Select(m => PushMessage.FromJson(m.Body.ToString())));
            any |= received.Length > 0;
        }
        while (received.Length == MaxPerReceive);

        if (any)
        {
            await queue.ClearMessagesAsync(cancellationToken);
        }
    }
}
