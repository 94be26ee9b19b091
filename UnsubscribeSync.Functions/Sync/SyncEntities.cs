using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>Which part of a run is executing; the last batch of a phase starts the next one.</summary>
public enum SyncPhase
{
    /// <summary>Reading Salesforce changes into the ledger (and re-asserting drift found on the way).</summary>
    Inbound,

    /// <summary>Writing the ledger's unconfirmed links to Salesforce and resolving addresses by email.</summary>
    Outbound,

    /// <summary>Every batch has reported; the run can be closed.</summary>
    Closing,

    /// <summary>Closed: report written, watermark moved (when inbound was complete).</summary>
    Completed,
}

/// <summary>
/// One run in the SyncRuns table: partition = run id, row key <see cref="RowKeyValue"/>. Its batches live in
/// the same partition, so a batch's completion and the run's counters change in one transaction.
/// </summary>
public sealed class SyncRunEntity : ITableEntity
{
    public const string RowKeyValue = "run";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>incremental, full, or intakes (the sweep alone, while the nightly sync is off).</summary>
    public string Mode { get; set; } = "incremental";

    public string Phase { get; set; } = nameof(SyncPhase.Inbound);

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Records whose SystemModstamp is after this were read; null for a full run.</summary>
    public DateTimeOffset? Since { get; set; }

    /// <summary>The watermark this run sets when it completes with inbound whole (its planning time).</summary>
    public DateTimeOffset Until { get; set; }

    public int BatchesPlanned { get; set; }

    public int BatchesDone { get; set; }

    /// <summary>When a batch last reported; a run with no progress for a while is resumed by the next tick.</summary>
    public DateTimeOffset LastProgressAt { get; set; }

    /// <summary>Set once the API budget or the daily limit stopped new Salesforce work.</summary>
    public bool BudgetStopped { get; set; }

    /// <summary>Set when an inbound page was skipped or abandoned, so the watermark must stay.</summary>
    public bool InboundIncomplete { get; set; }

    /// <summary>The run report as JSON (<see cref="SyncCounters"/>), written when the run closes.</summary>
    public string? ReportJson { get; set; }

    public bool WatermarkAdvanced { get; set; }

    public SyncPhase SyncPhase => Enum.Parse<SyncPhase>(Phase);

    public bool IsFull => Mode == "full";

    /// <summary>A run of the intake sweep alone (the nightly sync is off): no Salesforce work, no watermark.</summary>
    public bool IsIntakesOnly => Mode == IntakesOnlyMode;

    public const string IntakesOnlyMode = "intakes";
}

/// <summary>One work item of a run: row key <c>batch|{id}</c> in the run's partition.</summary>
public sealed class SyncBatchEntity : ITableEntity
{
    public const string RowKeyPrefix = "batch|";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Kind { get; set; } = string.Empty;

    /// <summary>The work item (<see cref="SyncWorkItem"/>) as JSON; re-enqueued from here when a run is resumed.</summary>
    public string ItemJson { get; set; } = string.Empty;

    public bool Done { get; set; }

    /// <summary>The batch whose completion planned this one (null for the run's first batches), to queue it again if that hand-off was cut short.</summary>
    public string? ParentBatchId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>What the batch did, as JSON (<see cref="SyncCounters"/>).</summary>
    public string? ResultJson { get; set; }

    /// <summary>
    /// The copy of the batch's message that is running it. A batch can be on the queue twice (a resumed run, a
    /// redelivery); a second copy that finds a live claim stands down instead of writing to Salesforce again.
    /// </summary>
    public string? ClaimedBy { get; set; }

    /// <summary>When the claim lapses (<c>Sync:BatchClaimLifetime</c> after it was taken), so a copy whose worker died holds the batch no longer.</summary>
    public DateTimeOffset? ClaimedUntil { get; set; }

    public string BatchId => RowKey[RowKeyPrefix.Length..];

    /// <summary>Whether some copy of the batch's message holds a claim that has not lapsed at <paramref name="now"/>.</summary>
    public bool IsClaimedAt(DateTimeOffset now) => ClaimedBy is not null && ClaimedUntil > now;

    public static string RowKeyFor(string batchId) => RowKeyPrefix + batchId;
}

/// <summary>
/// Rows of the SyncState table (partition <see cref="PartitionValue"/>): the <c>lease</c> naming the open run,
/// and the <c>watermark</c>. Both are only ever replaced with their ETag.
/// </summary>
public sealed class SyncStateEntity : ITableEntity
{
    public const string PartitionValue = "nightly";
    public const string LeaseRow = "lease";
    public const string WatermarkRow = "watermark";

    public string PartitionKey { get; set; } = PartitionValue;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>Lease: the open run, or null when no run is open. Watermark: the run that last moved it.</summary>
    public string? RunId { get; set; }

    /// <summary>Watermark: Salesforce changes up to this instant are in the ledger.</summary>
    public DateTimeOffset? Watermark { get; set; }

    /// <summary>Watermark: the highest SystemModstamp the run that set it saw.</summary>
    public DateTimeOffset? HighestSystemModstamp { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
