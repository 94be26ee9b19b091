using System.Text.Json.Serialization;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Where a write that failed for a converted or merged record should go instead.</summary>
/// <param name="Original">The record the write was for.</param>
/// <param name="Target">The record to write instead (the converted Contact, or the merge survivor); null when there is none.</param>
/// <param name="DeadReason">Why nothing more can be written, when <paramref name="Target"/> is null and Salesforce showed the record gone.</param>
/// <param name="NotFoundReason">
/// Set instead when Salesforce did not show the record gone (not returned at all, or not deleted after all): hidden
/// by sharing, not visible yet, or restored meanwhile. Not final: the write is retried.
/// </param>
public sealed record RecordRedirect(SalesforceId Original, SalesforceId? Target, string? DeadReason, string? NotFoundReason = null)
{
    /// <summary>The code a <see cref="NotFoundReason"/> is recorded under.</summary>
    public const string NotFoundCode = "NOT_FOUND_OR_NOT_VISIBLE";
}

/// <summary>
/// Follows <c>CANNOT_UPDATE_CONVERTED_LEAD</c> to the lead's <c>ConvertedContactId</c>, and
/// <c>ENTITY_IS_DELETED</c> to the merge survivor (<c>MasterRecordId</c>, read with queryAll because
/// the loser sits in the Recycle Bin). Used by the push worker (one record) and the nightly sync (many).
/// </summary>
public interface IRecordRedirectResolver
{
    /// <summary>Resolves each failure; one query per object type and error kind, not one per record.</summary>
    Task<IReadOnlyList<RecordRedirect>> ResolveAsync(IReadOnlyList<(SalesforceId Id, string ErrorCode)> failures, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class RecordRedirectResolver(ISalesforceClient salesforce) : IRecordRedirectResolver
{
    public const string ConvertedLead = "CANNOT_UPDATE_CONVERTED_LEAD";
    public const string Deleted = "ENTITY_IS_DELETED";

    // 200 Ids keep an IN list far below the 16,384-byte URL limit.
    private const int IdsPerQuery = 200;

    public async Task<IReadOnlyList<RecordRedirect>> ResolveAsync(IReadOnlyList<(SalesforceId Id, string ErrorCode)> failures, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, RecordRedirect>(StringComparer.Ordinal);

        var converted = failures.Where(f => f.ErrorCode == ConvertedLead && f.Id.ObjectType == SalesforceObjectType.Lead).Select(f => f.Id).Distinct().ToList();
        foreach (var chunk in converted.Chunk(IdsPerQuery))
        {
            var soql = $"SELECT Id, IsConverted, ConvertedContactId FROM Lead WHERE Id IN {Soql.InList(chunk)}";
            await foreach (var lead in salesforce.QueryAsync<LeadConversion>(soql, cancellationToken))
            {
                if (SalesforceId.TryParse(lead.Id, out var id, out _))
                {
                    results[id.Value] = SalesforceId.TryParse(lead.ConvertedContactId, out var contact, out _)
                        ? new RecordRedirect(id, contact, null)
                        : new RecordRedirect(id, null, "The lead is converted but Salesforce names no converted contact.");
                }
            }
        }

        var deleted = failures.Where(f => f.ErrorCode == Deleted).Select(f => f.Id).Distinct().ToList();
        foreach (var group in deleted.GroupBy(id => id.SObjectName))
        {
            foreach (var chunk in group.Chunk(IdsPerQuery))
            {
                var soql = $"SELECT Id, IsDeleted, MasterRecordId FROM {group.Key} WHERE Id IN {Soql.InList(chunk)}";
                await foreach (var row in salesforce.QueryAllAsync<DeletedRecord>(soql, cancellationToken))
                {
                    if (SalesforceId.TryParse(row.Id, out var id, out _))
                    {
                        // Only a record queryAll shows deleted with no survivor is dead; one not deleted was restored meanwhile.
                        results[id.Value] = SalesforceId.TryParse(row.MasterRecordId, out var master, out _)
                            ? new RecordRedirect(id, master, null)
                            : row.IsDeleted
                                ? new RecordRedirect(id, null, "The record was deleted in Salesforce (not merged), so there is nothing to write until it is restored.")
                                : new RecordRedirect(id, null, null, "Salesforce reported the record deleted, but it is not (restored meanwhile?); the write is retried.");
                    }
                }
            }
        }

        // Not returned even by queryAll: purged, or (more often) hidden from the integration user by sharing, which
        // can change back. Neither proves the record gone for good, so the write stays owed.
        return failures
            .Select(f => results.TryGetValue(f.Id.Value, out var redirect)
                ? redirect
                : new RecordRedirect(f.Id, null, null, f.ErrorCode == Deleted
                    ? "Salesforce returned no such record, not even from the Recycle Bin: it may be hidden from the integration user by sharing, or purged. The nightly sync retries."
                    : $"Salesforce reported {f.ErrorCode} but the record could not be found to follow it; the nightly sync retries."))
            .ToList();
    }

    private sealed record LeadConversion(
        [property: JsonPropertyName("Id")] string Id,
        [property: JsonPropertyName("IsConverted")] bool IsConverted,
        [property: JsonPropertyName("ConvertedContactId")] string? ConvertedContactId);

    private sealed record DeletedRecord(
        [property: JsonPropertyName("Id")] string Id,
        [property: JsonPropertyName("IsDeleted")] bool IsDeleted,
        [property: JsonPropertyName("MasterRecordId")] string? MasterRecordId);
}
