using Microsoft.Extensions.Logging;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>What the nightly run's report says of the audit chain of the day before it.</summary>
public sealed record AuditChainSummary
{
    /// <summary>The day checked, yyyy-MM-dd.</summary>
    public string Day { get; init; } = string.Empty;

    /// <summary>Whether the verifier ran to the end of the day's chain (false: it could not be read; see <see cref="Error"/>).</summary>
    public bool Verified { get; init; }

    /// <summary>Whether the chain held together; null when it was not verified.</summary>
    public bool? Intact { get; init; }

    public int Blobs { get; init; }

    public long Lines { get; init; }

    /// <summary>SHA-256 of the day's last line: a later truncation of the chain shows against it.</summary>
    public string? LastHash { get; init; }

    /// <summary>Lines the repair appended for entries whose append had been interrupted.</summary>
    public int Repaired { get; init; }

    /// <summary>The first break, in words (blob, line, expected and found hash).</summary>
    public string? Break { get; init; }

    public string? Error { get; init; }
}

/// <summary>The nightly step: repair the day's interrupted appends, then verify its chain.</summary>
public interface IAuditChainCheck
{
    Task<AuditChainSummary> CheckAsync(DateOnly day, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class AuditChainCheck(IAuditChain chain, AuditChainVerifier verifier, ILogger<AuditChainCheck> logger) : IAuditChainCheck
{
    public async Task<AuditChainSummary> CheckAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var dayName = AuditChainFormat.DayName(day);
        var repaired = 0;
        string? repairError = null;
        try
        {
            repaired = await chain.RepairAsync(day, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A repair that cannot append (storage, or a last line someone damaged) must not stop the verification,
            // which says what is wrong, nor the run's close: its pending rows stay for the next night.
            Log.NotRepaired(logger, ex, dayName);
            repairError = ex.Message;
        }

        try
        {
            var result = await verifier.VerifyAsync(day, cancellationToken);
            if (result.Break is { } broken)
            {
                Log.Broken(logger, dayName, broken.ToString());
            }
            else
            {
                Log.Intact(logger, dayName, result.Lines, result.Blobs);
            }

            return new AuditChainSummary
            {
                Day = dayName,
                Verified = true,
                Intact = result.Intact,
                Blobs = result.Blobs,
                Lines = result.Lines,
                LastHash = result.LastHash,
                Repaired = repaired,
                Break = result.Break?.ToString(),
                Error = repairError is null ? null : "repair failed: " + repairError,
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The sync's own work must not fail over the check: the report says it was not done, and why.
            Log.NotVerified(logger, ex, dayName);
            return new AuditChainSummary { Day = dayName, Verified = false, Repaired = repaired, Error = ex.Message };
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 472, Level = LogLevel.Information, Message = "Audit chain {Day} verified: {Lines} lines in {Blobs} blobs, intact")]
        public static partial void Intact(ILogger logger, string day, long lines, int blobs);

        [LoggerMessage(EventId = 473, Level = LogLevel.Error, Message = "Audit chain {Day} is BROKEN: {Break}")]
        public static partial void Broken(ILogger logger, string day, string @break);

        [LoggerMessage(EventId = 474, Level = LogLevel.Warning, Message = "Audit chain {Day} could not be verified")]
        public static partial void NotVerified(ILogger logger, Exception exception, string day);

        [LoggerMessage(EventId = 475, Level = LogLevel.Warning, Message = "Audit chain {Day}: its pending entries could not be appended; they stay pending for the next night")]
        public static partial void NotRepaired(ILogger logger, Exception exception, string day);
    }
}
