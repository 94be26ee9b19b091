using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Whether the org's daily API allocation still has room for the sync, from the usage Salesforce reports
/// on every response (<c>Sforce-Limit-Info</c>), so checking costs no call.
/// </summary>
public sealed class ApiBudget(ISalesforceApiUsage usage, IOptions<SyncOptions> options, TimeProvider timeProvider)
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
}

/// <summary>One batch's execution state: its run, its figures and whether Salesforce work has stopped.</summary>
public sealed class SyncBatchContext(SyncRunEntity run)
{
    private readonly Lock _gate = new();

    public SyncRunEntity Run { get; } = run;

    public string RunId => Run.PartitionKey;

    public SyncCounters Counters { get; } = new();

    /// <summary>The budget or the daily limit stopped Salesforce work (in this batch or an earlier one).</summary>
    public bool BudgetStopped { get; set; } = run.BudgetStopped;

    /// <summary>This inbound batch did not read all it should have; the watermark must stay.</summary>
    public bool InboundIncomplete { get; set; }

    /// <summary>Follow-up work items.</summary>
    public List<SyncWorkItem> Children { get; } = [];

    /// <summary>Changes the figures; safe from parallel record handlers.</summary>
    public void Count(Action<SyncCounters> change)
    {
        lock (_gate)
        {
            change(Counters);
        }
    }
}
