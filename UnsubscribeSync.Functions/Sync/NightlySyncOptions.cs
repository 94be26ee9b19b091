using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Settings of the nightly run's mechanics, bound from the same <c>Sync</c> section as
/// <see cref="Configuration.SyncOptions"/> (<c>Sync__ForceFullReconcile</c> and so on).
/// </summary>
public sealed class NightlySyncOptions
{
    /// <summary>While true, every run ignores the watermark and reads all Contacts and Leads.</summary>
    public bool ForceFullReconcile { get; set; }

    /// <summary>How far before the watermark an incremental run starts reading, to absorb clock differences and late commits.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Sync:WatermarkOverlap must be between 0 and 1 day.")]
    public TimeSpan WatermarkOverlap { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A run whose batches have reported nothing for this long is resumed by the next timer tick.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00", ErrorMessage = "Sync:StallAfter must be between 1 minute and 1 day.")]
    public TimeSpan StallAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long a batch's claim keeps other copies of its message away. It must outlast the longest batch (one
    /// query page, or a write of 200 with its reads, each Salesforce call up to <c>Salesforce:TotalTimeout</c>),
    /// or a resumed copy could write beside a live one; only a claim whose worker died should ever lapse.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00", ErrorMessage = "Sync:BatchClaimLifetime must be between 1 minute and 1 day.")]
    public TimeSpan BatchClaimLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Intake records older than this that never reached the push queue are finished first.</summary>
    public TimeSpan IntakeSweepAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Intake rows one sweep batch scans (a Table query page, at most 1,000); the next page is its own batch. Every
    /// half-finished intake the pages find is finished, however many there are.
    /// </summary>
    [Range(1, 1000, ErrorMessage = "Sync:IntakeSweepPageSize must be between 1 and 1000.")]
    public int IntakeSweepPageSize { get; set; } = 1000;

    /// <summary>Attempts before a failing batch is given up (match host.json <c>extensions.queues.maxDequeueCount</c>, default 5).</summary>
    [Range(1, 100)]
    public int BatchMaxAttempts { get; set; } = 5;

    /// <summary>Records per inbound query page (the work of one inbound batch).</summary>
    [Range(200, 2000)]
    public int InboundPageSize { get; set; } = 2000;

    /// <summary>Rows one outbox-scan batch reads from the ledger before handing on.</summary>
    [Range(200, 20_000)]
    public int OutboxScanRows { get; set; } = 4000;
}
