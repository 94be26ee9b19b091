using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// The outbound pass (ledger to Salesforce): a bounded scan of the ledger for links Salesforce has not
/// confirmed, which hands out Write items of 200 links, and Resolve items for addresses without an Id.
/// </summary>
public sealed class OutboundSync(
    ILedgerStore ledger,
    ISalesforceClient salesforce,
    IOptOutFieldResolver fields,
    SalesforceWriter writer,
    IOptions<SyncOptions> syncOptions,
    IOptions<NightlySyncOptions> nightlyOptions)
{
    private const string Channel = "nightly-sync";

    // Leaves room under Salesforce's 16,384-byte URL limit for the rest of the query once the IN list is URL-encoded.
    internal const int MaxEncodedInListBytes = 12_000;

    /// <summary>Scans one slice of the ledger; emits full Write/Resolve items and a continuation carrying the remainder.</summary>
    public async Task ScanAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var options = syncOptions.Value;
        var carryLinks = new List<LinkRef>(item.Links ?? []);
        var carryKeys = new List<string>(item.Keys ?? []);
        var scanRows = nightlyOptions.Value.OutboxScanRows;

        // The field check (cached, so this rarely costs a call): the field in force on each object, so the scan also finds
        // links confirmed on another field, and whether the org has Person Accounts. Without the budget to ask, the scan
        // finds what it always did.
        var resolution = await context.ResolveFieldsAsync(fields, cancellationToken);
        var inForce = resolution is null ? null : new FieldsInForce(resolution.Contact.FieldName, resolution.Lead.FieldName, resolution.PersonAccount?.FieldName);
        var slice = await ledger.ScanOutboxAsync(item.Continuation, Math.Min(scanRows, 1000), Math.Max(1, scanRows / 1000), inForce, cancellationToken);

        foreach (var link in slice.Links)
        {
            // Without Person Accounts an Account link can never be written. The writer blocks it once, with the reason
            // (no call to Salesforce); after that it waits, unscanned, for the org to enable them instead of being
            // handed out again every night.
            if (resolution is { HasPersonAccounts: false }
                && link is { Status: LinkStatus.Blocked, LastErrorCode: SalesforceWriter.NoPersonAccountsCode }
                && link.ObjectType == SalesforceObjectType.PersonAccount.SObjectName())
            {
                context.Count(c =>
                {
                    c.NoPersonAccounts = true;
                    c.PersonAccountLinksSkipped++;
                });
                continue;
            }

            // A failure recorded since the run began was this run's (inbound) or the push worker's attempt: not twice in one night.
            if (link.Status != LinkStatus.Pending && link.UpdatedAt >= context.Run.StartedAt)
            {
                continue;
            }

            carryLinks.Add(new LinkRef(link.PartitionKey, link.SalesforceId));
            if (carryLinks.Count == SyncWorkItem.MaxRecords)
            {
                context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Write, Links = [.. carryLinks] });
                carryLinks.Clear();
            }
        }

        foreach (var state in slice.Awaiting)
        {
            if (!options.ResolveByEmail || state.ConsentState != ConsentState.Unsubscribed)
            {
                context.Count(c => c.AwaitingId++);
                continue;
            }

            carryKeys.Add(state.PartitionKey);
            if (carryKeys.Count == SyncWorkItem.MaxRecords)
            {
                context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Resolve, Keys = [.. carryKeys] });
                carryKeys.Clear();
            }
        }

        if (slice.Continuation is not null)
        {
            // Partial items ride along so that 100 scattered links still make one collections call, not one per slice.
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.OutboxScan, Continuation = slice.Continuation, Links = carryLinks, Keys = carryKeys });
            return;
        }

        if (carryLinks.Count > 0)
        {
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Write, Links = carryLinks });
        }

        if (carryKeys.Count > 0)
        {
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Resolve, Keys = carryKeys });
        }
    }

    /// <summary>Writes up to 200 links. An incremental run reads their values first; a full run's inbound pass has already seen them.</summary>
    public async Task WriteAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var links = new List<RecordLinkEntity>();
        foreach (var reference in item.Links ?? [])
        {
            // A confirmed link was handed out for being confirmed on another field; the writer checks it against the field in force.
            if (await ledger.GetLinkAsync(reference.EmailKey, reference.SalesforceId, cancellationToken) is { } link && (link.IsOwed || link.Status == LinkStatus.Synced))
            {
                links.Add(link);
            }
        }

        // In a full run the inbound pass read every record, and any that needed the opt-out was written then;
        // what is left was not seen (no email, deleted), so reading it again would only add calls.
        context.Count(await writer.WriteAsync(links, new WriteOptions(Channel, ReadFirst: !context.Run.IsFull), context, cancellationToken));
    }

    /// <summary>Finds Leads, Contacts and Person Accounts by email for addresses without a Salesforce Id, links every match and writes the opt-out to those lacking it.</summary>
    public async Task ResolveAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, ConsentStateEntity>(StringComparer.Ordinal);
        foreach (var key in item.Keys ?? [])
        {
            if (await ledger.GetStateAsync(key, cancellationToken) is { AwaitingSalesforceId: true, ConsentState: ConsentState.Unsubscribed } state)
            {
                states[state.Email] = state;
            }
        }

        if (states.Count == 0)
        {
            return;
        }

        if (await context.ResolveFieldsAsync(fields, cancellationToken) is not { } resolution)
        {
            context.Count(c => c.AwaitingId += states.Count);
            return;
        }

        var found = new HashSet<string>(StringComparer.Ordinal);
        var toWrite = new List<RecordLinkEntity>();
        SalesforceObjectType[] objectTypes = resolution.HasPersonAccounts
            ? [SalesforceObjectType.Contact, SalesforceObjectType.Lead, SalesforceObjectType.PersonAccount]
            : [SalesforceObjectType.Contact, SalesforceObjectType.Lead];

        // How many object types each address was looked up in; only a lookup in every one is complete.
        var searched = states.Keys.ToDictionary(k => k, _ => 0, StringComparer.Ordinal);
        foreach (var objectType in objectTypes)
        {
            var field = resolution.For(objectType).FieldName;
            if (field is null)
            {
                continue;
            }

            foreach (var chunk in ChunkForUrl(states.Keys))
            {
                var email = objectType.EmailField();
                var soql = $"SELECT Id, {email}, {field} FROM {objectType.SObjectName()} WHERE {email} IN {Soql.InList(chunk)}"
                    + (objectType.QueryCondition() is { } condition ? " AND " + condition : string.Empty);
                var rows = new List<SObjectRow>();
                try
                {
                    await foreach (var row in salesforce.QueryAsync<SObjectRow>(soql, cancellationToken))
                    {
                        rows.Add(row);
                    }
                }
                catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
                {
                    context.StopForDailyLimit();
                    break;
                }

                chunk.ForEach(address => searched[address]++);
                foreach (var row in rows)
                {
                    if (!EmailAddress.TryCreate(row.GetString(email), out var address, out _)
                        || !states.TryGetValue(address.Value, out var state)
                        || row.Id is not { } id)
                    {
                        continue;
                    }

                    found.Add(address.Value);
                    var holds = row.GetBool(field);
                    var linked = await ledger.LinkAsync(state.PartitionKey, id, "lookup", holds, cancellationToken, keepAwaiting: true, observedField: field);
                    if (linked is null)
                    {
                        continue;
                    }

                    context.Count(c =>
                    {
                        c.Linked += linked.Created ? 1 : 0;
                        c.AlreadyCorrect += linked.Link.Status == LinkStatus.Synced ? 1 : 0;
                    });
                    if (linked.Link.IsOwed)
                    {
                        toWrite.Add(linked.Link);
                    }
                }
            }
        }

        foreach (var (address, count) in searched)
        {
            if (count == objectTypes.Length && found.Contains(address))
            {
                await ledger.CompleteLookupAsync(states[address].PartitionKey, cancellationToken);
            }
        }

        context.Count(c => c.AwaitingId += states.Count - found.Count);
        context.Count(await writer.WriteAsync(toWrite, new WriteOptions(Channel), context, cancellationToken));
    }

    /// <summary>Splits addresses into IN lists that stay under the URL limit once quoted, escaped and URL-encoded.</summary>
    internal static IEnumerable<List<string>> ChunkForUrl(IEnumerable<string> values)
    {
        var chunk = new List<string>();
        var bytes = 0;
        foreach (var value in values)
        {
            // Each item costs its encoded literal plus an encoded comma (%2C).
            var cost = Uri.EscapeDataString(Soql.Quote(value)).Length + 3;
            if (chunk.Count > 0 && (bytes + cost > MaxEncodedInListBytes || chunk.Count == SyncWorkItem.MaxRecords))
            {
                yield return chunk;
                chunk = [];
                bytes = 0;
            }

            chunk.Add(value);
            bytes += cost;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }
}
