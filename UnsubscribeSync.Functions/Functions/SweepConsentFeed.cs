using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// The change feed's sweep (<c>%ConsentFeedSweepSchedule%</c>, every 15 minutes by default): publishes changes a crash or
/// a lost message left in the ledger, queues notifications left owed, and numbers addresses from before the feed.
/// </summary>
public sealed class SweepConsentFeed(ConsentFeedWorker worker)
{
    public const string ScheduleSetting = "ConsentFeedSweepSchedule";

    [Function(nameof(SweepConsentFeed))]
    public Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        return worker.SweepAsync(cancellationToken);
    }
}
