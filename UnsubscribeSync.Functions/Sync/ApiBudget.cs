using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Whether the org's daily API allocation still has room for the sync, from the usage Salesforce reports
/// on every response (<c>Sforce-Limit-Info</c>), so checking costs no call. A process without a recent reading
/// makes its next call without one: that call's answer brings the reading, and reading <c>/limits</c> first would
/// cost the same call. Only when answers arrive without the header does <see cref="RefreshUsageAsync"/> read
/// <c>/limits</c> (at most once an hour for the process).
/// </summary>
public sealed partial class ApiBudget(ISalesforceApiUsage usage, ISalesforceClient salesforce, IOptions<SyncOptions> options, TimeProvider timeProvider, ILogger<ApiBudget> logger)
{
    // Usage is a rolling 24-hour figure; a reading this old says little about now.
    private static readonly TimeSpan MaxReadingAge = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private DateTimeOffset? _limitsReadAt;

    /// <summary>
    /// Reads <c>/limits</c> when the latest usage reading is missing or stale and a recent answer came without the
    /// header, and feeds it to the usage every check reads; returns true when Salesforce answered that the daily
    /// limit is reached.
    /// </summary>
    public async Task<bool> RefreshUsageAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (usage.Latest is { } latest && now - latest.ObservedAt < MaxReadingAge)
        {
            return false;
        }

        // No answer has said it will not report usage: the next call's answer will. A reached daily limit fails that
        // call as it would fail a /limits read, and the callers stop on it the same way.
        if (usage.UnreportedAt is not { } unreported || now - unreported >= MaxReadingAge)
        {
            return false;
        }

        lock (_gate)
        {
            // Once an hour at most, also when /limits does not show the daily figure to the integration user.
            if (_limitsReadAt is { } readAt && now - readAt < MaxReadingAge)
            {
                return false;
            }

            _limitsReadAt = now;
        }

        try
        {
            if ((await salesforce.GetLimitsAsync(cancellationToken)).DailyApiRequests is { } daily)
            {
                usage.Record(daily.Used, daily.Max);
            }

            return false;
        }
        catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
        {
            return true;
        }
        catch (Exception ex) when (ex is SalesforceApiException or HttpRequestException)
        {
            // Without a reading the share cannot be judged; the next response's header gives one.
            Log.LimitsUnreadable(logger, ex.GetType().Name);
            return false;
        }
    }

    /// <summary>An opt-out owed for longer than <c>Sync:MaxDeferral</c>, which only the daily limit may hold back.</summary>
    public bool IsOverdue(RecordLinkEntity link) =>
        link.DesiredOptOut && timeProvider.GetUtcNow() - (link.OwedSince ?? link.LinkedAt) >= options.Value.MaxDeferral;

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

        [LoggerMessage(EventId = 522, Level = LogLevel.Warning, Message = "The org's API usage could not be read from /limits ({Error}); the budget decides on the next response's usage")]
        public static partial void LimitsUnreadable(ILogger logger, string error);
    }
}

/// <summary>
/// One batch's execution state: its run, its figures, and its share of the API budget. It makes the budget
/// decisions: the writer and the passes only ask <see cref="CanCallSalesforce()"/>.
/// </summary>
public sealed class SyncBatchContext(SyncRunEntity run, ApiBudget budget) : IWriteBudget
{
    private readonly Lock _gate = new();

    public SyncRunEntity Run { get; } = run;

    public string RunId => Run.PartitionKey;

    public SyncCounters Counters { get; } = new();

    private bool _dailyLimit;

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

    /// <summary>
    /// True while the share allows calls, and after that for an opt-out owed longer than <c>Sync:MaxDeferral</c>
    /// until the daily limit is hit. A run stopped by an earlier batch does not say whether it was the share or the
    /// limit, so an overdue opt-out may spend one call per batch to find out.
    /// </summary>
    public bool CanCallSalesforce(RecordLinkEntity link)
    {
        if (CanCallSalesforce())
        {
            return true;
        }

        lock (_gate)
        {
            return !_dailyLimit && budget.IsOverdue(link);
        }
    }

    /// <summary>Reads the org's usage when no recent response reported it (see <see cref="ApiBudget.RefreshUsageAsync"/>).</summary>
    public async Task RefreshUsageAsync(CancellationToken cancellationToken)
    {
        if (await budget.RefreshUsageAsync(cancellationToken))
        {
            StopForDailyLimit();
        }
    }

    /// <summary>
    /// The field check within the budget: null when the budget stops calls, or when the check's describe found the
    /// daily limit reached (which stops the run's Salesforce work as any call's would).
    /// </summary>
    public async Task<OptOutFieldResolution?> ResolveFieldsAsync(IOptOutFieldResolver fields, CancellationToken cancellationToken)
    {
        await RefreshUsageAsync(cancellationToken);
        if (!CanCallSalesforce())
        {
            return null;
        }

        try
        {
            return await fields.ResolveAsync(cancellationToken);
        }
        catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
        {
            StopForDailyLimit();
            return null;
        }
    }

    public void StopForDailyLimit()
    {
        lock (_gate)
        {
            _dailyLimit = true;
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
