using System.Text.Json;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// What a batch did, and summed over a run, the run report. Every figure is a count of records (or
/// addresses) except <see cref="ApiCalls"/>.
/// </summary>
public sealed class SyncCounters
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Contacts, Leads and Person Accounts read from Salesforce by the inbound pass.</summary>
    public int RecordsRead { get; set; }

    /// <summary>Records read that have no email address: skipped.</summary>
    public int NoEmail { get; set; }

    /// <summary>Opt-outs made in Salesforce that changed the ledger (address newly unsubscribed).</summary>
    public int OptOutsImported { get; set; }

    /// <summary>Un-checks honoured under the Resubscribe policy (address resubscribed).</summary>
    public int ResubscribesImported { get; set; }

    /// <summary>Records linked to an address by this run (from Salesforce, a lookup or a redirect).</summary>
    public int Linked { get; set; }

    /// <summary>Records written to Salesforce successfully.</summary>
    public int Written { get; set; }

    /// <summary>Records whose Salesforce value was already what the ledger wants: confirmed without a write.</summary>
    public int AlreadyCorrect { get; set; }

    /// <summary>Records Salesforce refused, by error code.</summary>
    public Dictionary<string, int> FailedByCode { get; set; } = [];

    /// <summary>Addresses with no linked Salesforce record (not found by email, or lookups off).</summary>
    public int AwaitingId { get; set; }

    /// <summary>Records put off because the API budget or daily limit was reached.</summary>
    public int Deferred { get; set; }

    /// <summary>Records we hold as opted out that Salesforce had un-checked.</summary>
    public int Drift { get; set; }

    /// <summary>Converted leads and merged records followed to their new record.</summary>
    public int Redirected { get; set; }

    /// <summary>Resubscribe links not written because <c>Sync:PushResubscribes</c> is off.</summary>
    public int NotRequired { get; set; }

    /// <summary>Links the field check blocked (the opt-out field is missing or read-only).</summary>
    public int Blocked { get; set; }

    /// <summary>
    /// The org has no Person Accounts (or <c>Sync:PersonAccounts</c> is Off): Accounts were not read, and links to
    /// Account Ids were left alone (blocked, with the reason, when push first met them).
    /// </summary>
    public bool NoPersonAccounts { get; set; }

    /// <summary>Links to Account (001) Ids the outbound pass left alone because the org has no Person Accounts.</summary>
    public int PersonAccountLinksSkipped { get; set; }

    /// <summary>Webhook intakes that had stopped half-way and were finished by the run.</summary>
    public int IntakesCompleted { get; set; }

    /// <summary>Half-finished webhook intakes the run could not finish (left unfinished for the next sweep).</summary>
    public int IntakesFailed { get; set; }

    /// <summary>Expired rows the run removed, by table (Intake, SyncRuns, Audit); see <c>Retention__*</c>.</summary>
    public Dictionary<string, int> RowsRemoved { get; set; } = [];

    /// <summary>Requests this run made to Salesforce, as the client's handler counted them: every query page, write, describe, token request and retry.</summary>
    public int ApiCalls { get; set; }

    /// <summary>Batches that failed on every attempt and were given up.</summary>
    public int BatchesAbandoned { get; set; }

    /// <summary>The highest SystemModstamp the inbound pass saw.</summary>
    public DateTimeOffset? HighestSystemModstamp { get; set; }

    /// <summary>The audit chain of the day before the run: repaired and verified when the run closed (null: not checked).</summary>
    public AuditChainSummary? AuditChain { get; set; }

    public int Failed => FailedByCode.Values.Sum();

    public void AddFailure(string? code, int count = 1)
    {
        var key = string.IsNullOrEmpty(code) ? "UNKNOWN_ERROR" : code;
        FailedByCode[key] = FailedByCode.GetValueOrDefault(key) + count;
    }

    /// <summary>Counts one outcome the writer recorded.</summary>
    public void Count(WriteResult result)
    {
        Linked += result.NewlyLinked ? 1 : 0;
        switch (result.Outcome.Kind)
        {
            case LinkOutcomeKind.Synced:
                Written++;
                break;
            case LinkOutcomeKind.Observed:
                AlreadyCorrect++;
                break;
            case LinkOutcomeKind.Failed:
            case LinkOutcomeKind.Transient:
                AddFailure(result.Outcome.Code);
                break;
            case LinkOutcomeKind.Deferred:
                Deferred++;
                break;
            case LinkOutcomeKind.Blocked:
                Blocked++;
                break;
            case LinkOutcomeKind.Redirected:
                Redirected++;
                break;
            case LinkOutcomeKind.NotRequired:
                NotRequired++;
                break;
        }
    }

    public void SeeModstamp(DateTimeOffset value)
    {
        if (HighestSystemModstamp is null || value > HighestSystemModstamp)
        {
            HighestSystemModstamp = value;
        }
    }

    /// <summary>Adds another batch's figures to these.</summary>
    public void Add(SyncCounters other)
    {
        RecordsRead += other.RecordsRead;
        NoEmail += other.NoEmail;
        OptOutsImported += other.OptOutsImported;
        ResubscribesImported += other.ResubscribesImported;
        Linked += other.Linked;
        Written += other.Written;
        AlreadyCorrect += other.AlreadyCorrect;
        AwaitingId += other.AwaitingId;
        Deferred += other.Deferred;
        Drift += other.Drift;
        Redirected += other.Redirected;
        NotRequired += other.NotRequired;
        Blocked += other.Blocked;
        NoPersonAccounts |= other.NoPersonAccounts;
        PersonAccountLinksSkipped += other.PersonAccountLinksSkipped;
        IntakesCompleted += other.IntakesCompleted;
        IntakesFailed += other.IntakesFailed;
        ApiCalls += other.ApiCalls;
        BatchesAbandoned += other.BatchesAbandoned;
        foreach (var (code, count) in other.FailedByCode)
        {
            AddFailure(code, count);
        }

        foreach (var (table, count) in other.RowsRemoved)
        {
            RowsRemoved[table] = RowsRemoved.GetValueOrDefault(table) + count;
        }

        if (other.HighestSystemModstamp is { } seen)
        {
            SeeModstamp(seen);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SyncCounters FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? new SyncCounters() : JsonSerializer.Deserialize<SyncCounters>(json, Json) ?? new SyncCounters();
}

/// <summary>The run report: the run row's facts plus the summed counters.</summary>
public sealed record SyncRunReport(
    string RunId,
    string Mode,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    bool BudgetStopped,
    bool WatermarkAdvanced,
    DateTimeOffset? Watermark,
    SyncCounters Counters);
