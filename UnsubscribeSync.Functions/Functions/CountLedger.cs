using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Status;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// The ledger census's timer (<c>%LedgerCensusSchedule%</c>, every 10 minutes by default): counts a bounded share of the
/// ledger per tick, so the status API reads one snapshot row instead of scanning the ledger.
/// </summary>
public sealed class CountLedger(LedgerCensus census)
{
    public const string ScheduleSetting = "LedgerCensusSchedule";

    [Function(nameof(CountLedger))]
    public Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        return census.TickAsync(cancellationToken);
    }
}
