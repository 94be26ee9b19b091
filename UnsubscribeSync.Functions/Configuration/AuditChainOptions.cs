using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.Functions.Configuration;

/// <summary>
/// The <c>AuditChain</c> app settings (<c>AuditChain__*</c>): the tamper-evident copy of the audit trail, one
/// hash-chained JSON line per audit entry in daily append blobs (docs/audit-chain.md).
/// </summary>
public sealed class AuditChainOptions
{
    public const string SectionName = "AuditChain";

    /// <summary>Whether audit entries are also chained into append blobs. Off: the Audit table alone, as before.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The blob container of the daily chains; in Azure it carries the time-based immutability policy.</summary>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "AuditChain:Container must be a valid blob container name.")]
    public string Container { get; set; } = "audit-chain";

    /// <summary>The table of entries recorded in the Audit table whose chain line is not yet known to be written.</summary>
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "AuditChain:PendingTable must be a valid table name.")]
    public string PendingTable { get; set; } = "AuditChainPending";

    /// <summary>
    /// Lines per blob before the day's chain continues in its next blob. An append blob takes at most 50,000 appends,
    /// and each line is one append.
    /// </summary>
    [Range(1, 49_000, ErrorMessage = "AuditChain:MaxLinesPerBlob must be between 1 and 49000 (an append blob takes at most 50,000 appends).")]
    public int MaxLinesPerBlob { get; set; } = 45_000;

    /// <summary>Attempts at one append when other writers keep moving the blob's end (HTTP 412) before it is given up.</summary>
    [Range(1, 1000, ErrorMessage = "AuditChain:MaxAppendAttempts must be between 1 and 1000.")]
    public int MaxAppendAttempts { get; set; } = 100;
}
