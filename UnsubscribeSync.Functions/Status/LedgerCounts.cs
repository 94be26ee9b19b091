using System.Globalization;
using System.Text.Json;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// What the ledger census counted: addresses, links by status (failures by Salesforce code, blocks by problem), the
/// oldest owed write, and confirmations per day. Kept as JSON on the census rows, so a status request reads one row.
/// </summary>
public sealed class LedgerCounts
{
    /// <summary>Distinct codes or problems kept per status; the rest are summed under <see cref="OtherKey"/> so the row stays small.</summary>
    public const int MaxKeys = 25;

    /// <summary>Days of confirmations kept in <see cref="SyncedPerDay"/>.</summary>
    public const int MaxDays = 30;

    public const string OtherKey = "OTHER";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public long Addresses { get; set; }

    public long Unsubscribed { get; set; }

    public long AwaitingId { get; set; }

    public long Pending { get; set; }

    public long Synced { get; set; }

    public long Deferred { get; set; }

    public long Dead { get; set; }

    public long NotRequired { get; set; }

    public Dictionary<string, long> FailedByCode { get; set; } = [];

    /// <summary>Blocked links by the problem an admin must fix (the link's message, which names the field or permission).</summary>
    public Dictionary<string, long> BlockedByProblem { get; set; } = [];

    /// <summary>When the oldest write still owed (Pending, Failed, Deferred, Blocked) was asked for.</summary>
    public DateTimeOffset? OldestOwedSince { get; set; }

    /// <summary>Links confirmed in Salesforce per UTC day (by their <c>SyncedAt</c>), the last <see cref="MaxDays"/> days.</summary>
    public Dictionary<string, long> SyncedPerDay { get; set; } = [];

    /// <summary>Links now Failed, Deferred or Blocked per UTC day of their last attempt, the last <see cref="MaxDays"/> days.</summary>
    public Dictionary<string, long> NotSyncedPerDay { get; set; } = [];

    public long Failed => FailedByCode.Values.Sum();

    public long Blocked => BlockedByProblem.Values.Sum();

    public long Links => Pending + Synced + Deferred + Dead + NotRequired + Failed + Blocked;

    public long Owed => Pending + Failed + Deferred + Blocked;

    /// <summary>Counts one ledger <c>state</c> row.</summary>
    public void CountAddress(ConsentStateEntity state)
    {
        Addresses++;
        Unsubscribed += state.State == nameof(ConsentState.Unsubscribed) ? 1 : 0;
        AwaitingId += state.AwaitingSalesforceId ? 1 : 0;
    }

    /// <summary>Counts one ledger link row; <paramref name="today"/> bounds the per-day figures.</summary>
    public void CountLink(RecordLinkEntity link, DateTimeOffset today)
    {
        switch (link.Status)
        {
            case LinkStatus.Pending: Pending++; break;
            case LinkStatus.Synced: Synced++; break;
            case LinkStatus.Deferred: Deferred++; break;
            case LinkStatus.Dead: Dead++; break;
            case LinkStatus.NotRequired: NotRequired++; break;
            case LinkStatus.Failed: Bump(FailedByCode, string.IsNullOrEmpty(link.LastErrorCode) ? "UNKNOWN_ERROR" : link.LastErrorCode); break;
            case LinkStatus.Blocked: Bump(BlockedByProblem, link.LastErrorMessage ?? link.LastErrorCode ?? "unknown problem"); break;
        }

        if (link.IsOwed)
        {
            var since = link.OwedSince ?? link.LinkedAt;
            if (OldestOwedSince is null || since < OldestOwedSince)
            {
                OldestOwedSince = since;
            }
        }

        if (link.Status == LinkStatus.Synced && link.SyncedAt is { } synced)
        {
            BumpDay(SyncedPerDay, synced, today);
        }
        else if (link.Status is LinkStatus.Failed or LinkStatus.Deferred or LinkStatus.Blocked)
        {
            BumpDay(NotSyncedPerDay, link.UpdatedAt, today);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static LedgerCounts FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? new LedgerCounts() : JsonSerializer.Deserialize<LedgerCounts>(json, Json) ?? new LedgerCounts();

    /// <summary>The UTC day key of an instant, as the per-day maps use it.</summary>
    public static string DayKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void Bump(Dictionary<string, long> map, string key)
    {
        if (!map.ContainsKey(key) && map.Count >= MaxKeys)
        {
            key = OtherKey;
        }

        map[key] = map.GetValueOrDefault(key) + 1;
    }

    private static void BumpDay(Dictionary<string, long> map, DateTimeOffset at, DateTimeOffset today)
    {
        if (at > today.AddDays(-MaxDays))
        {
            var key = DayKey(at);
            map[key] = map.GetValueOrDefault(key) + 1;
        }
    }
}
