using System.Text.Json;
using System.Text.Json.Serialization;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>The kinds of work a sync batch does.</summary>
public enum SyncWorkKind
{
    /// <summary>Read one page (at most 2,000) of changed Contacts or Leads, keyset-paged by Id, into the ledger.</summary>
    Inbound,

    /// <summary>Scan a bounded slice of the ledger for links Salesforce has not confirmed, emitting write and resolve items.</summary>
    OutboxScan,

    /// <summary>Write up to 200 links with one sObject Collections call.</summary>
    Write,

    /// <summary>Find Leads and Contacts by email for up to 200 addresses that have no Salesforce Id.</summary>
    Resolve,

    /// <summary>Finish the webhook intakes that stopped half-way, one page of the Intake table; planned with the inbound pass.</summary>
    IntakeSweep,

    /// <summary>Remove expired rows of one working table (Intake, SyncRuns, Audit), one bounded page; planned with the outbound pass.</summary>
    Retention,
}

/// <summary>A reference to one ledger link: the address key and the record Id.</summary>
public sealed record LinkRef(
    [property: JsonPropertyName("k")] string EmailKey,
    [property: JsonPropertyName("i")] string SalesforceId);

/// <summary>
/// One unit of sync work. Items are small and self-describing so a crashed run can be resumed from
/// the batch rows alone; each names at most 200 ledger links or addresses, or one inbound query page.
/// </summary>
public sealed record SyncWorkItem
{
    /// <summary>Most links (or addresses) in one Write or Resolve item: one collections call.</summary>
    public const int MaxRecords = 200;

    public SyncWorkKind Kind { get; init; }

    /// <summary>Inbound: Contact, Lead or PersonAccount (a <see cref="Shared.SalesforceObjectType"/> name).</summary>
    public string? ObjectType { get; init; }

    /// <summary>Inbound: read records with an Id after this one (keyset paging), or from the start when null.</summary>
    public string? AfterId { get; init; }

    /// <summary>Retention: which table (a <see cref="RetentionTarget"/> name).</summary>
    public string? Target { get; init; }

    /// <summary>Retention: rows this run already removed from the table (the per-run bound).</summary>
    public int? RowsRemoved { get; init; }

    /// <summary>OutboxScan, IntakeSweep and Retention: the Table continuation token to carry on from.</summary>
    public string? Continuation { get; init; }

    /// <summary>Write: links to write; OutboxScan: links found so far that did not yet fill a Write item.</summary>
    public IReadOnlyList<LinkRef>? Links { get; init; }

    /// <summary>Resolve: address keys; OutboxScan: awaiting addresses found so far.</summary>
    public IReadOnlyList<string>? Keys { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SyncWorkItem FromJson(string json) =>
        JsonSerializer.Deserialize<SyncWorkItem>(json, Json) ?? throw new FormatException("Empty sync work item.");
}

/// <summary>One planned batch, and its queue message: which run, which batch row. The work itself is read from the row.</summary>
public sealed record SyncBatchMessage(string RunId, string BatchId)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SyncBatchMessage FromJson(string json) =>
        JsonSerializer.Deserialize<SyncBatchMessage>(json, Json) ?? throw new FormatException("Empty sync batch message.");
}
