using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// The inbound pass (Salesforce to ledger) for one page: Contacts, Leads or Person Accounts changed since the watermark,
/// keyset-paged by Id so each batch reads one bounded page and hands the rest to a follow-up batch.
/// </summary>
public sealed partial class InboundSync(
    ISalesforceClient salesforce,
    IOptOutFieldResolver fields,
    ILedgerStore ledger,
    ILinkOutcomeRecorder recorder,
    IAuditLog audit,
    SalesforceWriter writer,
    IOptions<SyncOptions> syncOptions,
    IOptions<NightlySyncOptions> nightlyOptions,
    TimeProvider timeProvider,
    ILogger<InboundSync> logger)
{
    private const int Parallelism = 8;
    private const string Channel = "nightly-sync";

    /// <summary>Reads one page and brings it into the ledger; in an incremental run, drift found on the page is written back at once.</summary>
    public async Task RunAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var objectType = Enum.Parse<SalesforceObjectType>(item.ObjectType!);
        if (await context.ResolveFieldsAsync(fields, cancellationToken) is not { } resolution)
        {
            context.InboundIncomplete = true;
            return;
        }

        if (objectType == SalesforceObjectType.PersonAccount && !resolution.HasPersonAccounts)
        {
            // Not an error: the org has none (or they are switched off), which the field check reports once, not per run.
            context.Count(c => c.NoPersonAccounts = true);
            return;
        }

        var field = resolution.For(objectType);
        if (!field.Exists || field.FieldName is null)
        {
            // Without the field there is nothing to compare; the admin problem is reported by the resolver's log.
            Log.FieldMissing(logger, context.RunId, objectType.ToString(), field.Problem ?? "field not found");
            context.InboundIncomplete = true;
            return;
        }

        var pageSize = nightlyOptions.Value.InboundPageSize;
        var soql = BuildQuery(objectType, field.FieldName, context.Run.Since, item.AfterId, pageSize);
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
            context.InboundIncomplete = true;
            return;
        }
        catch (SalesforceApiException ex) when (ex.ErrorCode == "INVALID_FIELD")
        {
            // The kept field check said the field was there; Salesforce says it is not (removed, or hidden by field-level
            // security). Check afresh: the outbound pass and push then see the problem and block writes instead of failing them.
            fields.Invalidate();
            Log.FieldMissing(logger, context.RunId, objectType.ToString(), (await fields.ResolveAsync(cancellationToken)).For(objectType).Problem ?? ex.Message);
            context.InboundIncomplete = true;
            return;
        }

        var writes = new ConcurrentBag<RecordLinkEntity>();
        // Records sharing an address are handled one after another, so duplicates never race for the same ledger partition.
        var emailField = objectType.EmailField();
        var byAddress = rows.GroupBy(r => r.GetString(emailField)?.Trim().ToLowerInvariant() ?? string.Empty);
        await Parallel.ForEachAsync(
            byAddress,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (group, token) =>
            {
                // The address's records read un-checked on this page: none of them still holds the opt-out for the others.
                var uncheckedHere = group.Where(r => !r.GetBool(field.FieldName)).Select(r => r.Id?.Value).OfType<string>().ToHashSet(StringComparer.Ordinal);
                foreach (var row in group)
                {
                    if (await HandleAsync(row, emailField, field.FieldName, uncheckedHere, context, token) is { } write)
                    {
                        writes.Add(write);
                    }
                }
            });

        // A full run reads every page, so a page's few writes would each cost a part-filled collections call;
        // they stay owed (Pending) and the outbound scan writes them 200 per call, without reading them again.
        // An incremental run's changes are few and Salesforce's value was just read: write them now.
        if (!context.Run.IsFull)
        {
            context.Count(await writer.WriteAsync([.. writes], new WriteOptions(Channel), context, cancellationToken));
        }

        if (rows.Count >= pageSize)
        {
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Inbound, ObjectType = item.ObjectType, AfterId = rows[^1].GetString("Id") });
        }
    }

    /// <summary>The page query: keyset by Id so a page never depends on a cursor that a crash could lose.</summary>
    public static string BuildQuery(SalesforceObjectType objectType, string field, DateTimeOffset? since, string? afterId, int pageSize)
    {
        var conditions = new List<string>();
        if (since is { } from)
        {
            conditions.Add($"SystemModstamp > {Soql.DateTimeLiteral(from)}");
        }

        if (afterId is not null)
        {
            conditions.Add($"Id > {Soql.Quote(afterId)}");
        }

        // A converted lead cannot be edited and its person lives on as the converted contact, read with the contacts;
        // a business Account holds no person.
        if (objectType.QueryCondition() is { } condition)
        {
            conditions.Add(condition);
        }

        var where = conditions.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", conditions);
        return $"SELECT Id, {objectType.EmailField()}, {field}, SystemModstamp FROM {objectType.SObjectName()}{where} ORDER BY Id LIMIT {pageSize}";
    }

    /// <summary>Brings one record into the ledger; returns its link when a write to Salesforce is owed now.</summary>
    private async Task<RecordLinkEntity?> HandleAsync(SObjectRow row, string emailField, string field, IReadOnlySet<string> uncheckedHere, SyncBatchContext context, CancellationToken cancellationToken)
    {
        if (row.Id is not { } id)
        {
            return null;
        }

        context.Count(c => c.RecordsRead++);
        var modstamp = row.GetDateTime("SystemModstamp") ?? throw new FormatException($"Salesforce returned {id.Value} without a SystemModstamp.");
        context.Count(c => c.SeeModstamp(modstamp));
        if (!EmailAddress.TryCreate(row.GetString(emailField), out var address, out _))
        {
            context.Count(c => c.NoEmail++);
            return null;
        }

        var optedOut = row.GetBool(field);
        var record = await ledger.GetAsync(address.Key, cancellationToken);
        var link = record?.Links.FirstOrDefault(l => l.SalesforceId == id.Value);
        if (link is { CanRevive: true })
        {
            // The query returned a record whose link died as deleted: it was restored, or is visible again.
            link = (await recorder.RecordAsync(link, LinkOutcome.Observed(optedOut, field), Channel, cancellationToken)).Link;
        }

        var heldElsewhere = InboundRules.OptOutHeldElsewhere(record?.Links ?? [], id.Value, uncheckedHere);
        var (action, drift) = InboundRules.Decide(record?.State, link, optedOut, modstamp, syncOptions.Value, heldElsewhere, field);
        switch (action)
        {
            case InboundAction.ImportOptOut:
                await ImportAsync(ConsentEventType.Unsubscribe, address, id, field, modstamp, link is null, context, cancellationToken);
                return null;

            case InboundAction.ImportResubscribe:
                await ImportAsync(ConsentEventType.Resubscribe, address, id, field, modstamp, link is null, context, cancellationToken);
                return null;

            case InboundAction.Confirm when link is not null:
                await recorder.RecordAsync(link, LinkOutcome.Observed(optedOut, field), Channel, cancellationToken);
                context.Count(c => c.AlreadyCorrect++);
                return null;

            case InboundAction.WriteOptOut when drift:
                context.Count(c => c.Drift++);
                Log.Drift(logger, context.RunId, address.LogId, id.Value);
                await AuditDriftAsync(address, id, modstamp, cancellationToken);
                break;

            case InboundAction.None:
                return null;
        }

        // What the record holds is now known: the link is confirmed, or owes the address's value.
        // A record the ledger did not know is linked with that same knowledge (Confirm, KeepResubscribe, WriteOptOut).
        if (link is null)
        {
            var linked = await ledger.LinkAsync(address.Key, id, "sync", optedOut, cancellationToken, observedField: field);
            context.Count(c => c.Linked += linked is { Created: true } ? 1 : 0);
            return linked is { Link.IsOwed: true } ? linked.Link : null;
        }

        var recorded = await recorder.RecordAsync(link, LinkOutcome.Observed(optedOut, field), Channel, cancellationToken);
        return recorded.Link is { IsOwed: true } owed ? owed : null;
    }

    private async Task ImportAsync(ConsentEventType type, EmailAddress address, SalesforceId id, string field, DateTimeOffset modstamp, bool newLink, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();

        // Keyed by record and change time: re-reading the same change (overlap, retries, a re-run) applies nothing twice.
        // Read from the record itself, so the ledger confirms that record's link instead of queueing a write to it.
        var e = new ConsentEvent(
            $"sf:{id.Value}:{modstamp.UtcTicks}",
            type,
            address,
            id,
            modstamp,
            now,
            "salesforce",
            type == ConsentEventType.Unsubscribe ? "Opted out in Salesforce" : "Opt-out cleared in Salesforce",
            ReadFromRecord: true,
            ReadField: field);
        var applied = await ledger.ApplyAsync(e, cancellationToken);

        // The event's Id is this record's change, so "already applied" means this import did it: the storage answer was
        // lost in transit, the SDK sent the transaction again, the copy conflicted and the ledger re-read it. Reported once.
        var imported = applied.Decision is ConsentDecision.Applied or ConsentDecision.AlreadyApplied;
        await audit.AppendAsync(
            new AuditEntity
            {
                PartitionKey = address.Key,
                RowKey = AuditLog.EventRowKey(modstamp, e.Id),
                Kind = "event",
                EventId = e.Id,
                Type = e.TypeName,
                Source = e.Source,
                Channel = Channel,
                OccurredAt = modstamp,
                ReceivedAt = now,
                RecordedAt = now,
                Reason = e.Reason,
                SalesforceId = id.Value,
                Records = applied.LinksToPush.Count == 0 ? null : string.Join(',', applied.LinksToPush.Select(l => l.SalesforceId)),
                Outcome = imported ? nameof(ConsentDecision.Applied).ToLowerInvariant() : applied.Decision.ToString().ToLowerInvariant(),
            },
            cancellationToken);

        context.Count(c =>
        {
            c.Linked += newLink ? 1 : 0;
            if (!imported)
            {
                return;
            }

            if (type == ConsentEventType.Unsubscribe)
            {
                c.OptOutsImported++;
            }
            else
            {
                c.ResubscribesImported++;
            }
        });
    }

    private Task AuditDriftAsync(EmailAddress address, SalesforceId id, DateTimeOffset modstamp, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return audit.AppendAsync(
            new AuditEntity
            {
                PartitionKey = address.Key,
                RowKey = AuditLog.EventRowKey(modstamp, $"drift:{id.Value}:{modstamp.UtcTicks}"),
                Kind = "drift",
                Source = "salesforce",
                Channel = "nightly-sync",
                OccurredAt = modstamp,
                RecordedAt = now,
                SalesforceId = id.Value,
                Records = id.Value,
                Outcome = "reasserted",
                Detail = "The opt-out was un-checked in Salesforce; Sync:SalesforceUncheck=Reassert writes it again.",
            },
            cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 510, Level = LogLevel.Error, Message = "Sync run {RunId}: the opt-out field cannot be read on {ObjectType} ({Problem}); inbound changes were not read")]
        public static partial void FieldMissing(ILogger logger, string runId, string objectType, string problem);

        [LoggerMessage(EventId = 511, Level = LogLevel.Warning, Message = "Sync run {RunId}: address {AddressId} is opted out but record {SalesforceId} was un-checked in Salesforce; writing the opt-out again")]
        public static partial void Drift(ILogger logger, string runId, string addressId, string salesforceId);
    }
}
