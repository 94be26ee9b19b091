using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// Which changes the sender is notified of: those it did not make itself. An unsubscribe that came through the webhook
/// is the sender's own (it already stopped emailing); an opt-out or resubscribe read from Salesforce, and any
/// resubscribe (only an admin opts someone back in), is news to it. The backfill's snapshots are not changes.
/// </summary>
public sealed class NotificationRules(IOptions<NotifyOptions> options)
{
    public bool IsEnabled => options.Value.IsEnabled;

    public bool ShouldNotify(ConsentChangeEntity change) => IsEnabled && IsNews(change);

    public static bool IsNews(ConsentChangeEntity change) => change.Channel switch
    {
        ConsentChangeEntity.BackfillChannel => false,
        ConsentChangeEntity.WebhookChannel => change.Type == "resubscribe",
        _ => true,
    };
}
