using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Delivery;

/// <summary>Whether the caller may still spend Salesforce calls; the writer asks before every call.</summary>
public interface IWriteBudget
{
    /// <summary>True while Salesforce work may start. Once false it stays false for this budget.</summary>
    bool CanCallSalesforce();

    /// <summary>
    /// True while a call that writes <paramref name="link"/> may start. A budget may let an urgent link through after
    /// <see cref="CanCallSalesforce()"/> turned false (an opt-out owed too long), never after the daily limit.
    /// </summary>
    bool CanCallSalesforce(RecordLinkEntity link);

    /// <summary>Makes sure the budget decides on a recent reading of the org's usage; at most one call, and not on every batch.</summary>
    Task RefreshUsageAsync(CancellationToken cancellationToken);

    /// <summary>Salesforce answered that the org's daily limit is reached: no further work may start.</summary>
    void StopForDailyLimit();
}

/// <summary>
/// The budget of real-time push: an unsubscribe is urgent, so only the org's hard daily limit stops it, never the
/// nightly sync's share (<c>Sync__ApiBudgetPercent</c>).
/// </summary>
public sealed class UrgentWriteBudget : IWriteBudget
{
    private volatile bool _stopped;

    public bool CanCallSalesforce() => !_stopped;

    public bool CanCallSalesforce(RecordLinkEntity link) => !_stopped;

    // Push ignores the share, so it needs no reading (and spends no call on /limits).
    public Task RefreshUsageAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void StopForDailyLimit() => _stopped = true;
}
