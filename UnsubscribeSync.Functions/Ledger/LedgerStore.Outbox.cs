using Azure.Data.Tables;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One slice of the ledger's outbox: what a scan found, and where to carry on.</summary>
/// <param name="Links">Links Salesforce has not confirmed (Pending, Failed, Deferred, Blocked).</param>
/// <param name="Awaiting">Addresses linked to no Salesforce record.</param>
/// <param name="Continuation">Where the next slice starts; null when the scan is complete.</param>
public sealed record OutboxSlice(IReadOnlyList<RecordLinkEntity> Links, IReadOnlyList<ConsentStateEntity> Awaiting, string? Continuation);

/// <summary>The API name of the opt-out field in force on each object; null where it is not known (not resolved, missing).</summary>
public sealed record FieldsInForce(string? Contact, string? Lead, string? PersonAccount = null)
{
    /// <summary>The field in force for a link's object type (its sObject name: Contact, Lead or Account).</summary>
    public string? For(string objectType) => objectType switch
    {
        "Lead" => Lead,
        "Account" => PersonAccount,
        _ => Contact,
    };

    /// <summary>
    /// A link confirmed on another field than the one in force owes the value on it. A row confirmed before the field
    /// was recorded (null) is not swept: that would rewrite every link of every deployment once; the inbound pass
    /// re-confirms it when it reads the record (and never honours an un-check on it until then).
    /// </summary>
    public bool Owes(RecordLinkEntity link) =>
        link is { Status: LinkStatus.Synced, SyncedField: { } field } && For(link.ObjectType) is { } inForce && field != inForce;
}

public sealed partial class LedgerStore
{
    private static readonly string LinkRangeEnd = RecordLinkEntity.RowKeyPrefix[..^1] + (char)(RecordLinkEntity.RowKeyPrefix[^1] + 1);

    /// <inheritdoc />
    public async Task<OutboxSlice> ScanOutboxAsync(string? continuation, int maxRows, int maxPages, FieldsInForce? inForce, CancellationToken cancellationToken)
    {
        // The SDK stores the status enum as its name, so the filter compares names.
        var synced = nameof(LinkStatus.Synced);
        var dead = nameof(LinkStatus.Dead);
        var notRequired = nameof(LinkStatus.NotRequired);
        var stateRow = ConsentStateEntity.RowKeyValue;
        var linkFrom = RecordLinkEntity.RowKeyPrefix;
        var linkTo = LinkRangeEnd;

        // Filtered on the server: the slice carries only rows with work, however large the ledger is.
        var filter = TableClient.CreateQueryFilter(
            $"(RowKey eq {stateRow} and AwaitingSalesforceId eq true) or (RowKey ge {linkFrom} and RowKey lt {linkTo} and Status ne {synced} and Status ne {dead} and Status ne {notRequired})");
        var otherField = new List<string>();
        if (inForce?.Contact is { } contactField)
        {
            otherField.Add(TableClient.CreateQueryFilter($"(ObjectType eq {"Contact"} and SyncedField ne {contactField})"));
        }

        if (inForce?.Lead is { } leadField)
        {
            otherField.Add(TableClient.CreateQueryFilter($"(ObjectType eq {"Lead"} and SyncedField ne {leadField})"));
        }

        if (inForce?.PersonAccount is { } accountField)
        {
            otherField.Add(TableClient.CreateQueryFilter($"(ObjectType eq {"Account"} and SyncedField ne {accountField})"));
        }

        if (otherField.Count > 0)
        {
            // Links confirmed on another field (the field in force changed). After a switch that is every link, once:
            // they are written on the new field and confirmed on it, and drop out of the scan again.
            filter = $"({filter}) or ({TableClient.CreateQueryFilter($"RowKey ge {linkFrom} and RowKey lt {linkTo} and Status eq {synced}")} and ({string.Join(" or ", otherField)}))";
        }

        var links = new List<RecordLinkEntity>();
        var awaiting = new List<ConsentStateEntity>();
        var pages = 0;
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: maxRows, cancellationToken: cancellationToken).AsPages(continuation, maxRows))
        {
            foreach (var row in page.Values)
            {
                if (row.RowKey == ConsentStateEntity.RowKeyValue)
                {
                    awaiting.Add(TableRows.Read<ConsentStateEntity>(row));
                }
                else if (TableRows.Read<RecordLinkEntity>(row) is var link && (link.Status != LinkStatus.Synced || inForce?.Owes(link) == true))
                {
                    // Checked here too: how a service compares a property a row lacks is not ours to rely on.
                    links.Add(link);
                }
            }

            continuation = page.ContinuationToken;
            if (++pages >= maxPages || links.Count + awaiting.Count >= maxRows)
            {
                break;
            }
        }

        return new OutboxSlice(links, awaiting, pages == 0 ? null : continuation);
    }
}
