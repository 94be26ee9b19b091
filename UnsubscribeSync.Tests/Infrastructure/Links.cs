using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>Builds links in any status through the link's own transitions, as the app would have left them.</summary>
internal static class Links
{
    public static RecordLinkEntity InStatus(string emailKey, SalesforceId id, LinkStatus status, bool desired, string? eventId, DateTimeOffset at)
    {
        var link = RecordLinkEntity.Create(emailKey, id, desired, "event", eventId, at);
        switch (status)
        {
            case LinkStatus.Pending:
                break;
            case LinkStatus.Synced:
                link.MarkSynced(at, attempted: true, "HasOptedOutOfEmail");
                break;
            case LinkStatus.Failed:
                link.MarkFailed("SEEDED_FAILURE", "Seeded by a test.", attempted: true, at);
                break;
            case LinkStatus.Deferred:
                link.MarkDeferred("API_BUDGET", "Seeded by a test.", attempted: false, at);
                break;
            case LinkStatus.Blocked:
                link.MarkBlocked("OPT_OUT_FIELD_UNUSABLE", "Seeded by a test.", attempted: false, at);
                break;
            case LinkStatus.Dead:
                link.MarkDead("ENTITY_IS_DELETED", "Seeded by a test.", at);
                break;
            case LinkStatus.NotRequired:
                link.MarkNotRequired("Seeded by a test.", at);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(status), status, null);
        }

        return link;
    }
}
