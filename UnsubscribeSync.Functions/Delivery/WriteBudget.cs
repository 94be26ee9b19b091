namespace UnsubscribeSync.Functions.Delivery;

/// <summary>Whether the caller may still spend Salesforce calls; the writer asks before every call.</summary>
public interface IWriteBudget
{
    /// <summary>True while Salesforce work may start. Once false it stays false for this budget.</summary>
    bool CanCallSalesforce();

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

    public void StopForDailyLimit() => _stopped = true;
}
