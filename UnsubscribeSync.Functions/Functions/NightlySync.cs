using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// The nightly two-way sync's timer (<c>%NightlySyncSchedule%</c>, 04:00 UTC by default). It only plans:
/// the work runs as <see cref="RunSyncBatch"/> batches. Started by hand through
/// <c>POST /admin/functions/NightlySync</c>; the admin endpoint's input does not reach a timer function,
/// so a full reconcile is asked for with <c>Sync__ForceFullReconcile=true</c> (docs/sync.md).
/// </summary>
public sealed class NightlySync(INightlySyncService sync)
{
    [Function(nameof(NightlySync))]
    public Task Run([TimerTrigger("%NightlySyncSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        return sync.TickAsync(timer.IsPastDue, cancellationToken);
    }
}
