using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// The timer's <c>NightlySyncSchedule</c> app setting as the host resolves it, captured at registration: the worker's
/// container does not always hold <c>IConfiguration</c> (test hosts, tools), and the status only reports it.
/// </summary>
public sealed record NightlyScheduleSetting(string? Value);

/// <summary>
/// Builds the administrator's view: the seed's requirements as checks, the ledger's counts (from the census snapshot,
/// never a ledger scan), the queues, the recent nightly runs and the API usage. Its storage cost is fixed: one census
/// row, one range query over the last days of SyncRuns, four queue property reads; Salesforce is called only when the
/// cached token or field check has lapsed.
/// </summary>
public sealed partial class StatusService(
    StorageClients clients,
    IOptions<StorageOptions> storage,
    IOptions<SyncOptions> sync,
    IOptions<AdminOptions> admin,
    NightlyScheduleSetting nightlySchedule,
    LedgerCensus census,
    IOptOutFieldResolver fields,
    ISalesforceApiUsage apiUsage,
    ISalesforceSignIn signIn,
    TimeProvider timeProvider,
    ILogger<StatusService> logger)
{
    /// <summary>A nightly run older than this, while the sync is on, is a warning (a day plus two hours of slack).</summary>
    public static readonly TimeSpan NightlyRunMaxAge = TimeSpan.FromHours(26);

    /// <summary>A census snapshot older than this is reported as stale.</summary>
    public static readonly TimeSpan CensusMaxAge = TimeSpan.FromHours(24);

    public async Task<StatusReport> BuildAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var checks = new List<StatusCheck>();

        CensusEntity? snapshot = null;
        QueueDepths? queues = null;
        IReadOnlyList<SyncRunView> runs = [];
        var storageOk = true;
        try
        {
            snapshot = await census.GetSnapshotAsync(cancellationToken);
            queues = await ReadQueuesAsync(cancellationToken);
            runs = await ReadRunsAsync(now, cancellationToken);
            checks.Add(new StatusCheck("storage", "Storage reachable", CheckStatus.Pass, "Tables and queues answer."));
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken) || ex is RequestFailedException)
        {
            Log.StorageUnavailable(logger, ex);
            storageOk = false;
            checks.Add(new StatusCheck("storage", "Storage reachable", CheckStatus.Fail,
                "Storage does not answer: check the AzureWebJobsStorage settings, the storage account and the app identity's roles (Storage Table Data Contributor, Storage Queue Data Contributor). The webhook answers 503 meanwhile; nothing accepted is lost."));
        }

        var enabled = sync.Value.NightlyEnabled;
        checks.Add(enabled
            ? new StatusCheck("nightly-sync-enabled", "Nightly sync switched on", CheckStatus.Pass,
                $"The nightly two-way sync runs at {Schedule ?? "its schedule"} (UTC).")
            : new StatusCheck("nightly-sync-enabled", "Nightly sync switched on", CheckStatus.Fail,
                "The nightly sync is off: opt-outs made in Salesforce do not reach the ledger and failed pushes are not retried. Set Sync__NightlyEnabled=true in the app settings."));

        var lastCompleted = runs.Where(r => r.Mode != SyncRunEntity.IntakesOnlyMode && r.Phase == nameof(SyncPhase.Completed)).Select(r => r.EndedAt).Max();
        if (enabled && storageOk)
        {
            checks.Add(lastCompleted is { } ended && now - ended <= NightlyRunMaxAge
                ? new StatusCheck("nightly-sync-ran", "Nightly sync ran", CheckStatus.Pass, $"The last run completed {Age(now - ended)} ago.")
                : new StatusCheck("nightly-sync-ran", "Nightly sync ran", CheckStatus.Warn,
                    $"No nightly run completed in the last {NightlyRunMaxAge.TotalHours:0} hours: look for NightlySync and RunSyncBatch failures in the logs, messages in {storage.Value.SyncBatchQueue}-poison, or run it by hand (POST /admin/functions/NightlySync)."));
        }

        var signedIn = await CheckSignInAsync(checks, cancellationToken);
        await CheckFieldAsync(checks, signedIn, cancellationToken);

        var ledger = snapshot is null ? null : ToView(snapshot, now);
        checks.Add(SalesforceIdCheck(ledger, storageOk, now));

        var report = new StatusReport(
            now,
            checks.Max(c => c.Status),
            checks,
            ledger,
            queues,
            new NightlyView(enabled, Schedule, lastCompleted, runs),
            UsageView());
        return report;
    }

    private string? Schedule => nightlySchedule.Value;

    private async Task<bool> CheckSignInAsync(List<StatusCheck> checks, CancellationToken cancellationToken)
    {
        try
        {
            // Cached by the provider: a call to Salesforce only when the token is due for renewal.
            var instance = await signIn.SignInAsync(cancellationToken);
            checks.Add(new StatusCheck("salesforce-sign-in", "Salesforce sign-in", CheckStatus.Pass, $"Signed in to {instance.Host}."));
            return true;
        }
        catch (SalesforceApiException ex)
        {
            var setting = ex.Setting is null ? string.Empty : $" Fix the app setting {ex.Setting.Replace(":", "__", StringComparison.Ordinal)}.";
            checks.Add(new StatusCheck("salesforce-sign-in", "Salesforce sign-in", CheckStatus.Fail, $"Salesforce refused the sign-in: {ex.Message}{setting}"));
            return false;
        }
        catch (HttpRequestException)
        {
            checks.Add(new StatusCheck("salesforce-sign-in", "Salesforce sign-in", CheckStatus.Fail,
                "Salesforce could not be reached: check Salesforce__LoginUrl (the My Domain URL) and outbound network access."));
            return false;
        }
    }

    private async Task CheckFieldAsync(List<StatusCheck> checks, bool signedIn, CancellationToken cancellationToken)
    {
        const string title = "Opt-out field writable on Contact and Lead";
        if (!signedIn)
        {
            checks.Add(new StatusCheck("opt-out-field", title, CheckStatus.Warn, "Not checked: sign-in to Salesforce fails (see above)."));
            return;
        }

        try
        {
            // The check push and the sync use: cached for Salesforce:FieldCacheLifetime, from describes kept up to
            // Salesforce:FieldCheckLifetime; a failing check is described afresh, so a fix shows on the next cache miss.
            var resolution = await fields.ResolveAsync(cancellationToken);
            // Person Accounts are checked where the org has them: their field lives on Account (docs/status.md).
            var account = resolution.PersonAccount is { FieldName: { } accountField } ? $", Account.{accountField} (person accounts)" : string.Empty;
            var objects = resolution.HasPersonAccounts ? "Contact, Lead and Account" : "Contact and Lead";
            checks.Add(resolution.IsUsable
                ? new StatusCheck("opt-out-field", $"Opt-out field writable on {objects}", CheckStatus.Pass,
                    $"Opt-outs are written to Contact.{resolution.Contact.FieldName}, Lead.{resolution.Lead.FieldName}{account}: each exists, is a checkbox and is updateable.")
                : new StatusCheck("opt-out-field", $"Opt-out field writable on {objects}", CheckStatus.Fail, string.Join("; ", resolution.Problems) + "."));
        }
        catch (SalesforceApiException ex)
        {
            checks.Add(new StatusCheck("opt-out-field", title, CheckStatus.Warn, $"Not checked: describing Contact and Lead failed ({ex.Message}); the status tries again on the next request."));
        }
    }

    private static StatusCheck SalesforceIdCheck(LedgerView? ledger, bool storageOk, DateTimeOffset now)
    {
        const string name = "salesforce-id";
        const string title = "Each person carries a Salesforce Id";
        if (ledger?.CountedAt is not { } counted)
        {
            return new StatusCheck(name, title, CheckStatus.Warn, storageOk
                ? "Not counted yet: the ledger census (CountLedger, every 10 minutes by default) has not finished a count."
                : "Not counted: storage does not answer.");
        }

        var stale = now - counted > CensusMaxAge ? $" (counted {Age(now - counted)} ago: check that CountLedger runs)" : string.Empty;
        if (ledger.AwaitingSalesforceId == 0)
        {
            return new StatusCheck(name, title, stale.Length == 0 ? CheckStatus.Pass : CheckStatus.Warn,
                string.Create(CultureInfo.InvariantCulture, $"Every one of {ledger.Addresses:N0} addresses is linked to a Salesforce record{stale}."));
        }

        return new StatusCheck(name, title, CheckStatus.Warn,
            string.Create(CultureInfo.InvariantCulture, $"{ledger.AwaitingSalesforceId:N0} of {ledger.Addresses:N0} addresses ({ledger.AwaitingSalesforceIdShare * 100:0.0}%) await a Salesforce Id: their opt-outs reach no record. Send salesforceId with each event, or set Sync__ResolveByEmail=true so the nightly sync finds them by email{stale}."));
    }

    private static LedgerView ToView(CensusEntity snapshot, DateTimeOffset now)
    {
        var c = LedgerCounts.FromJson(snapshot.CountsJson);
        return new LedgerView(
            snapshot.CompletedAt,
            snapshot.StartedAt,
            snapshot.RowsRead,
            c.Addresses,
            c.Unsubscribed,
            c.AwaitingId,
            c.Addresses == 0 ? 0 : Math.Round((double)c.AwaitingId / c.Addresses, 4),
            new LinkCountsView(c.Pending, c.Synced, c.Deferred, c.Dead, c.NotRequired, c.Failed, c.FailedByCode, c.Blocked, c.BlockedByProblem),
            c.OldestOwedSince,
            c.OldestOwedSince is { } since ? Math.Round((now - since).TotalHours, 1) : null,
            c.SyncedPerDay,
            c.NotSyncedPerDay);
    }

    private async Task<QueueDepths> ReadQueuesAsync(CancellationToken cancellationToken)
    {
        var names = storage.Value;
        var depths = await Task.WhenAll(
            DepthAsync(names.PushQueue, cancellationToken),
            DepthAsync(names.PushPoisonQueue, cancellationToken),
            DepthAsync(names.SyncBatchQueue, cancellationToken),
            DepthAsync(names.SyncBatchQueue + "-poison", cancellationToken));
        return new QueueDepths(depths[0], depths[1], depths[2], depths[3]);
    }

    private async Task<long> DepthAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await clients.Queues.GetQueueClient(queue).GetPropertiesAsync(cancellationToken);
            return properties.Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The host creates a poison queue only when it first moves a message there.
            return 0;
        }
    }

    private async Task<IReadOnlyList<SyncRunView>> ReadRunsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Run ids begin with their start time (yyyyMMddTHHmmss), so the last days are a partition range: the query's
        // cost follows the number of runs kept, not the ledger.
        var from = now.AddDays(-admin.Value.StatusRunDays).UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {from} and RowKey eq {SyncRunEntity.RowKeyValue}");
        var runs = new List<SyncRunView>();
        var table = clients.Tables.GetTableClient(storage.Value.SyncRunsTable);
        await foreach (var run in table.QueryAsync<SyncRunEntity>(filter, cancellationToken: cancellationToken))
        {
            var c = SyncCounters.FromJson(run.ReportJson);
            runs.Add(new SyncRunView(run.PartitionKey, run.Mode, run.Phase, run.StartedAt, run.EndedAt, run.BudgetStopped, run.WatermarkAdvanced,
                c.RecordsRead, c.Written, c.AlreadyCorrect, c.Failed, c.FailedByCode, c.Deferred, c.Blocked, c.Drift, c.AwaitingId, c.ApiCalls, c.BatchesAbandoned));
        }

        return runs.OrderByDescending(r => r.StartedAt).ToList();
    }

    private ApiUsageView UsageView()
    {
        var latest = apiUsage.Latest;
        var budget = sync.Value.ApiBudgetPercent;
        var percent = latest is null ? (double?)null : Math.Round(latest.Fraction * 100, 1);
        return new ApiUsageView(latest?.Used, latest?.Limit, percent, latest?.ObservedAt, budget, percent >= budget);
    }

    private static string Age(TimeSpan age) =>
        age.TotalHours >= 48 ? $"{age.TotalDays:0} days" : age.TotalMinutes >= 90 ? $"{age.TotalHours:0} hours" : $"{Math.Max(0, age.TotalMinutes):0} minutes";

    private static partial class Log
    {
        [LoggerMessage(EventId = 720, Level = LogLevel.Warning, Message = "Status: storage did not answer")]
        public static partial void StorageUnavailable(ILogger logger, Exception exception);
    }
}
