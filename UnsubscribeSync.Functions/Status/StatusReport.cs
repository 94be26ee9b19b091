using System.Text.Json.Serialization;

namespace UnsubscribeSync.Functions.Status;

/// <summary>The outcome of one check: <c>pass</c>, <c>warn</c> or <c>fail</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckStatus>))]
public enum CheckStatus
{
    [JsonStringEnumMemberName("pass")]
    Pass,

    [JsonStringEnumMemberName("warn")]
    Warn,

    [JsonStringEnumMemberName("fail")]
    Fail,
}

/// <summary>One named requirement check, with a sentence an administrator can act on.</summary>
public sealed record StatusCheck(string Name, string Title, CheckStatus Status, string Message);

/// <summary>The links by status, from the last complete ledger census.</summary>
public sealed record LinkCountsView(
    long Pending,
    long Synced,
    long Deferred,
    long Dead,
    long NotRequired,
    long Failed,
    IReadOnlyDictionary<string, long> FailedByCode,
    long Blocked,
    IReadOnlyDictionary<string, long> BlockedByProblem);

/// <summary>The ledger as the last complete census counted it; <see cref="CountedAt"/> null before the first count.</summary>
public sealed record LedgerView(
    DateTimeOffset? CountedAt,
    DateTimeOffset? CountStartedAt,
    long RowsRead,
    long Addresses,
    long Unsubscribed,
    long AwaitingSalesforceId,
    double AwaitingSalesforceIdShare,
    LinkCountsView Links,
    DateTimeOffset? OldestOwedSince,
    double? OldestOwedAgeHours,
    IReadOnlyDictionary<string, long> SyncedPerDay,
    IReadOnlyDictionary<string, long> NotSyncedPerDay);

/// <summary>Approximate message counts of the app's work queues and their poison queues.</summary>
public sealed record QueueDepths(long Push, long PushPoison, long SyncBatches, long SyncBatchesPoison);

/// <summary>One nightly run, with the report fields of docs/sync.md (counts of records, and API calls).</summary>
public sealed record SyncRunView(
    string RunId,
    string Mode,
    string Phase,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    bool BudgetStopped,
    bool WatermarkAdvanced,
    int RecordsRead,
    int Written,
    int AlreadyCorrect,
    int Failed,
    IReadOnlyDictionary<string, int> FailedByCode,
    int Deferred,
    int Blocked,
    int Drift,
    int AwaitingId,
    int ApiCalls,
    int BatchesAbandoned);

/// <summary>The nightly sync: its switch, schedule and the runs of the last days, newest first.</summary>
public sealed record NightlyView(bool Enabled, string? Schedule, DateTimeOffset? LastCompletedAt, IReadOnlyList<SyncRunView> Runs);

/// <summary>The org's API usage as this instance last saw it in <c>Sforce-Limit-Info</c>, and the budget setting.</summary>
public sealed record ApiUsageView(long? Used, long? Limit, double? Percent, DateTimeOffset? ObservedAt, int BudgetPercent, bool BudgetReached);

/// <summary>The body of <c>GET /api/status</c>. Sections that could not be read (storage down) are null.</summary>
public sealed record StatusReport(
    DateTimeOffset GeneratedAt,
    CheckStatus Overall,
    IReadOnlyList<StatusCheck> Checks,
    LedgerView? Ledger,
    QueueDepths? Queues,
    NightlyView Nightly,
    ApiUsageView ApiUsage);
