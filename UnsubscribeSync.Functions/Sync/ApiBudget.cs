using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Whether the org's daily API allocation still has room for the sync, from the usage Salesforce reports
/// on every response (<c>Sforce-Limit-Info</c>), so checking costs no call.
/// </summary>
public sealed partial class ApiBudget(ISalesforceApiUsage usage, IOptions<SyncOptions> options, TimeProvider timeProvider, ILogger<ApiBudget> logger)
{
    // Usage is a rolling 24-hour figure; a reading this old says little about now.
    private static readonly TimeSpan MaxReadingAge = TimeSpan.FromHours(1);

    /// <summary>True when the latest reading is above <c>Sync:ApiBudgetPercent</c> of the allocation.</summary>
    public bool IsExhausted
    {
        get
        {
            var latest = usage.Latest;
            return latest is not null
                && timeProvider.GetUtcNow() - latest.ObservedAt < MaxReadingAge
                && latest.Fraction * 100 > options.Value.ApiBudgetPercent;
        }
    }

    /// <summary>The latest reading's calls used, for the report; null before any response.</summary>
    public long? Used => usage.Latest?.Used;

    internal void ReportReached(string runId) => Log.BudgetReached(logger, runId);

    internal void ReportDailyLimit(string runId) => Log.DailyLimitReached(logger, runId);

    private static partial class Log
    {
        [LoggerMessage(EventId = 520, Level = LogLevel.Warning, Message = "Sync run {RunId}: the Salesforce API budget is reached; remaining writes are deferred")]
        public static partial void BudgetReached(ILogger logger, string runId);

        [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "Sync run {RunId}: Salesforce's daily API limit is reached; remaining writes are deferred")]
        public static partial void DailyLimitReached(ILogger logger, string runId);
    }
}

/// <summary>
/// One batch's execution state: its run, its figures, and its share of the API budget. It makes the budget
/// decisions: the writer and the passes only ask <see cref="CanCallSalesforce"/>.
/// </summary>
public sealed class SyncBatchContext(SyncRunEntity run, ApiBudget budget) : IWriteBudget
{
    private readonly Lock _gate = new();

    public SyncRunEntity Run { get; } = run;

    public string RunId => Run.PartitionKey;

    public SyncCounters Counters { get; } = new();

    /// <summary>The budget or the daily limit stopped Salesforce work (in this batch or an earlier one of the run).</summary>
    public bool BudgetStopped { get; private set; } = run.BudgetStopped;

    /// <summary>This inbound batch did not read all it should have; the watermark must stay.</summary>
    public bool InboundIncomplete { get; set; }

    /// <summary>Follow-up work items.</summary>
    public List<SyncWorkItem> Children { get; } = [];

    /// <summary>False (and the run marked stopped) once the usage is above the budget or the daily limit was hit.</summary>
    public bool CanCallSalesforce()
    {
        lock (_gate)
        {
            if (!BudgetStopped && budget.IsExhausted)
            {
                BudgetStopped = true;
                budget.ReportReached(RunId);
            }

            return !BudgetStopped;
        }
    }

    public void StopForDailyLimit()
    {
        lock (_gate)
        {
            if (!BudgetStopped)
            {
                BudgetStopped = true;
                budget.ReportDailyLimit(RunId);
            }
        }
    }

    /// <summary>Changes the figures; safe from parallel record handlers.</summary>
    public void Count(Action<SyncCounters> change)
    {
        lock (_gate)
        {
            change(Counters);
        }
    }

    /// <summary>Counts what the writer recorded.</summary>
    public void Count(IEnumerable<WriteResult> results)
    {
        lock (_gate)
        {
            foreach (var result in results)
            {
                Counters.Count(result);
            }
        }
    }
}
