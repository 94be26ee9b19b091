using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// The ledger census's rows in the SyncState table, partition <see cref="PartitionValue"/>: <see cref="ProgressRow"/> while a
/// count is under way (where it stands and what it counted so far), <see cref="SnapshotRow"/> the last complete count.
/// </summary>
public sealed class CensusEntity : ITableEntity
{
    public const string PartitionValue = "census";
    public const string ProgressRow = "progress";
    public const string SnapshotRow = "snapshot";

    public string PartitionKey { get; set; } = PartitionValue;
    public string RowKey { get; set; } = ProgressRow;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Where the count carries on (the Table continuation token); null on the snapshot.</summary>
    public string? Continuation { get; set; }

    public long RowsRead { get; set; }

    public int Ticks { get; set; }

    /// <summary>The counts (<see cref="LedgerCounts"/>) as JSON.</summary>
    public string CountsJson { get; set; } = "{}";
}
