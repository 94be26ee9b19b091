using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// The field check's kept describes in the SyncState table (partition <see cref="FieldCheckEntity.PartitionValue"/>,
/// one row per object), shared by the sync's batches, push and the status page in every process, so a nightly run
/// spends no describe call while the kept ones hold. Only field names, labels, types and flags are stored: no
/// record data, no address, no credential.
/// </summary>
public sealed class FieldCheckTable(StorageClients clients, IOptions<StorageOptions> options) : IFieldCheckStore
{
    private TableClient State => clients.Tables.GetTableClient(options.Value.SyncStateTable);

    public async Task<KeptDescribe?> GetAsync(string scope, string sObjectName, CancellationToken cancellationToken)
    {
        var response = await State.GetEntityIfExistsAsync<FieldCheckEntity>(FieldCheckEntity.PartitionValue, sObjectName, cancellationToken: cancellationToken);
        if (!response.HasValue || response.Value is not { } row || row.Scope != scope)
        {
            return null;
        }

        var fields = JsonSerializer.Deserialize<List<FieldDescription>>(row.FieldsJson ?? "[]") ?? [];
        return new KeptDescribe(sObjectName, fields, row.UnavailableCode, row.ValidAsOf, row.CheckedAt);
    }

    public async Task SaveAsync(string scope, KeptDescribe describe, CancellationToken cancellationToken)
    {
        // Last writer wins: every writer saves what Salesforce just told it, so no ETag is needed.
        var row = new FieldCheckEntity
        {
            RowKey = describe.SObjectName,
            Scope = scope,
            FieldsJson = JsonSerializer.Serialize(describe.Fields),
            UnavailableCode = describe.UnavailableCode,
            ValidAsOf = describe.ValidAsOf,
            CheckedAt = describe.CheckedAt,
        };
        await State.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
    }
}

/// <summary>One kept describe: partition <see cref="PartitionValue"/>, row key = the sObject name.</summary>
public sealed class FieldCheckEntity : ITableEntity
{
    public const string PartitionValue = "fieldcheck";

    public string PartitionKey { get; set; } = PartitionValue;
    public string RowKey { get; set; } = string.Empty;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>A hash of the org, user, API version and field setting the describe was made under.</summary>
    public string Scope { get; set; } = string.Empty;

    /// <summary>The fields the check reads, as JSON (name, label, type, updateable, custom).</summary>
    public string? FieldsJson { get; set; }

    /// <summary>Salesforce's error code when the object could not be described.</summary>
    public string? UnavailableCode { get; set; }

    /// <summary>What to send as If-Modified-Since next time.</summary>
    public DateTimeOffset? ValidAsOf { get; set; }

    /// <summary>When Salesforce last answered for this describe (200 or 304), on the app's clock.</summary>
    public DateTimeOffset CheckedAt { get; set; }
}
