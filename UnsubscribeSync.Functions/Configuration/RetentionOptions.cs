using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.Functions.Configuration;

/// <summary>
/// The <c>Retention</c> app settings (<c>Retention__*</c>): how long the nightly run keeps working records before it removes
/// them, in bounded batches. 0 keeps them for ever. The ledger (each address's consent and links) is never removed.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>
    /// Days a finished webhook intake record is kept. It exists to answer a repeated delivery as a duplicate and to finish an
    /// intake that stopped half-way; a sender retries within hours, so a month is ample. Unfinished records are never removed.
    /// </summary>
    [Range(0, 3650, ErrorMessage = "Retention:IntakeDays must be between 0 (keep for ever) and 3650.")]
    public int IntakeDays { get; set; } = 30;

    /// <summary>Days a completed nightly run's rows (its report and its batches) are kept. The status page draws up to 90 days.</summary>
    [Range(0, 3650, ErrorMessage = "Retention:SyncRunsDays must be between 0 (keep for ever) and 3650.")]
    public int SyncRunsDays { get; set; } = 90;

    /// <summary>
    /// Days an audit row is kept in the Audit table; 0 (the default) keeps it for ever. The audit chain's blobs are not
    /// touched: their retention is the storage account's immutability policy (docs/audit-chain.md).
    /// </summary>
    [Range(0, 36500, ErrorMessage = "Retention:AuditDays must be 0 (keep for ever) or between 365 and 36500.")]
    public int AuditDays { get; set; }

    /// <summary>Rows one retention batch removes at most (a batch is one queue message, so this bounds its time).</summary>
    [Range(100, 5000, ErrorMessage = "Retention:BatchRows must be between 100 and 5000.")]
    public int BatchRows { get; set; } = 1000;

    /// <summary>Rows of one table one nightly run removes at most; the rest wait for the next night (a first run after an upgrade may find years).</summary>
    [Range(100, 10_000_000, ErrorMessage = "Retention:MaxRowsPerRun must be between 100 and 10000000.")]
    public int MaxRowsPerRun { get; set; } = 200_000;

    /// <summary>A shorter audit retention than a year is refused: the audit is the evidence an opt-out was honoured.</summary>
    public bool AuditDaysValid => AuditDays is 0 or >= 365;
}
