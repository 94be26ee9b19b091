using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// The inbound pass (Salesforce to ledger) for one page: Contacts or Leads changed since the watermark,
/// keyset-paged by Id so each batch reads one bounded page and hands the rest to a follow-up batch.
/// </summary>
public sealed partial class InboundSync(
    ISalesforceClient salesforce,
    IOptOutFieldResolver fields,
    ILedgerStore ledger,
    ILedgerSyncStore ledgerSync,
    IAuditLog audit,
    SalesforceWriter writer,
    IOptions<SyncOptions> syncOptions,
    IOptions<NightlySyncOptions> nightlyOptions,
    IOptions<SalesforceOptions> salesforceOptions,
    TimeProvider timeProvider,
    ILogger<InboundSync> logger)
{
    private const int Parallelism = 8;

    /// <summary>Reads one page and brings it into the ledger; in an incremental run, drift found on the page is written back at once.</summary>
    public async Task RunAsync(SyncWorkItem item, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var objectType = Enum.Parse<SalesforceObjectType>(item.ObjectType!);
        if (writer.StopIfOverBudget(context))
        {
            context.InboundIncomplete = true;
            return;
        }

        var field = (await fields.ResolveAsync(cancellationToken)).For(objectType);
        if (!field.Exists || field.FieldName is null)
        {
            // Without the field there is nothing to compare; the admin problem is reported by the resolver's log.
            Log.FieldMissing(logger, context.RunId, objectType.ToString(), field.Problem ?? "field not found");
            context.InboundIncomplete = true;
            return;
        }

        var pageSize = nightlyOptions.Value.InboundPageSize;
        var soql = BuildQuery(objectType, field.FieldName, context.Run.Since, item.AfterId, pageSize);
        var rows = new List<JsonElement>();
        try
        {
            await foreach (var row in salesforce.QueryAsync<JsonElement>(soql, cancellationToken))
            {
                rows.Add(row);
            }
        }
        catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
        {
            context.Count(c => c.ApiCalls++);
            context.BudgetStopped = true;
            context.InboundIncomplete = true;
            return;
        }

        var batchSize = salesforceOptions.Value.QueryBatchSize ?? 2000;
        context.Count(c => c.ApiCalls += Math.Max(1, (rows.Count + batchSize - 1) / batchSize));

        var writes = new ConcurrentBag<RecordLinkEntity>();
        // Records sharing an address are handled one after another, so duplicates never race for the same ledger partition.
        var byAddress = rows.GroupBy(r => SalesforceWriter.ReadString(r, "Email")?.Trim().ToLowerInvariant() ?? string.Empty);
        await Parallel.ForEachAsync(
            byAddress,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (group, token) =>
            {
                foreach (var row in group)
                {
                    if (await HandleAsync(row, field.FieldName, context, token) is { } write)
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
            await writer.WriteAsync([.. writes], readFirst: false, context, cancellationToken);
        }

        if (rows.Count >= pageSize)
        {
            context.Children.Add(new SyncWorkItem { Kind = SyncWorkKind.Inbound, ObjectType = item.ObjectType, AfterId = SalesforceWriter.ReadString(rows[^1], "Id") });
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

        if (objectType == SalesforceObjectType.Lead)
        {
            // A converted lead cannot be edited and its person lives on as the converted contact, read with the contacts.
            conditions.Add("IsConverted = false");
        }

        var where = conditions.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", conditions);
        return $"SELECT Id, Email, {field}, SystemModstamp FROM {objectType}{where} ORDER BY Id LIMIT {pageSize}";
    }

    private async Task<RecordLinkEntity?> HandleAsync(JsonElement row, string field, SyncBatchContext context, CancellationToken cancellationToken)
    {
        if (!SalesforceId.TryParse(SalesforceWriter.ReadString(row, "Id"), out var id, out _))
        {
            return null;
        }

        context.Count(c => c.RecordsRead++);
        var modstamp = row.GetProperty("SystemModstamp").Deserialize<DateTimeOffset>(SalesforceJson.Options);
        context.Count(c => c.SeeModstamp(modstamp));
        if (!EmailAddress.TryCreate(SalesforceWriter.ReadString(row, "Email"), out var address, out _))
        {
            context.Count(c => c.NoEmail++);
            return null;
        }

        var optedOut = SalesforceWriter.ReadBool(row, field);
        var record = await ledger.GetAsync(address.Key, cancellationToken);
        var link = record?.Links.FirstOrDefault(l => l.SalesforceId == id.Value);
        var options = syncOptions.Value;
        var (action, drift) = InboundRules.Decide(record?.State, link, optedOut, modstamp, options);
        switch (action)
        {
            case InboundAction.ImportOptOut:
                await ImportAsync(ConsentEventType.Unsubscribe, address, id, modstamp, link is null, context, cancellationToken);
                return null;

            case InboundAction.ImportResubscribe:
                await ImportAsync(ConsentEventType.Resubscribe, address, id, modstamp, link is null, context, cancellationToken);
                return null;

            case InboundAction.Confirm when link is not null:
                await writer.ConfirmAsync(link, cancellationToken);
                context.Count(c => c.AlreadyCorrect++);
                return null;

            case InboundAction.Confirm:
                await NewLinkAsync(record!.State, id, optedOut, LinkStatus.Synced, context, cancellationToken);
                return null;

            case InboundAction.KeepResubscribe:
                // The explicit resubscribe is newer than the Salesforce opt-out: the ledger stands; clearing the field is up to PushResubscribes.
                var status = options.PushResubscribes ? LinkStatus.Pending : LinkStatus.NotRequired;
                if (link is null)
                {
                    await NewLinkAsync(record!.State, id, false, status, context, cancellationToken);
                }
                else
                {
                    await writer.SaveAsync(link, l =>
                    {
                        l.DesiredOptOut = false;
                        l.Status = status.ToString();
                        l.RequestedByEventId = record!.State.StateEventId;
                    }, cancellationToken);
                }

                context.Count(c => c.NotRequired += status == LinkStatus.NotRequired ? 1 : 0);
                return null;

            case InboundAction.WriteOptOut:
                if (drift)
                {
                    context.Count(c => c.Drift++);
                    Log.Drift(logger, context.RunId, address.LogId, id.Value);
                    await AuditDriftAsync(address, id, modstamp, cancellationToken);
                }

                if (link is null)
                {
                    return await NewLinkAsync(record!.State, id, true, LinkStatus.Pending, context, cancellationToken);
                }

                await writer.SaveAsync(link, l =>
                {
                    l.Status = nameof(LinkStatus.Pending);
                    l.RequestedByEventId = record!.State.StateEventId;
                }, cancellationToken);
                return link;

            default:
                return null;
        }
    }

    private async Task ImportAsync(ConsentEventType type, EmailAddress address, SalesforceId id, DateTimeOffset modstamp, bool newLink, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();

        // Keyed by record and change time: re-reading the same change (overlap, retries, a re-run) applies nothing twice.
        var e = new UnsubscribeEvent(
            $"sf:{id.Value}:{modstamp.UtcTicks}",
            type,
            address,
            id,
            modstamp,
            now,
            "salesforce",
            type == ConsentEventType.Unsubscribe ? "Opted out in Salesforce" : "Opt-out cleared in Salesforce");
        var applied = await ledger.ApplyAsync(e, cancellationToken);
        await audit.AppendAsync(
            new AuditEntity
            {
                PartitionKey = address.Key,
                RowKey = AuditLog.EventRowKey(modstamp, IntakeRecords.KeyOf(e.Id)),
                Kind = "event",
                EventId = e.Id,
                Type = e.TypeName,
                Source = e.Source,
                Channel = "nightly-sync",
                OccurredAt = modstamp,
                ReceivedAt = now,
                RecordedAt = now,
                Reason = e.Reason,
                SalesforceId = id.Value,
                Records = applied.LinksToPush.Count == 0 ? null : string.Join(',', applied.LinksToPush.Select(l => l.SalesforceId)),
                Outcome = applied.Decision.ToString().ToLowerInvariant(),
            },
            cancellationToken);

        if (applied.Decision == ConsentDecision.Applied)
        {
            context.Count(c =>
            {
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

        // The record itself already holds the value it told us; its link is confirmed, not queued.
        var link = await ledgerSync.GetLinkAsync(address.Key, id.Value, cancellationToken);
        if (link is not null && link.DesiredOptOut == (type == ConsentEventType.Unsubscribe))
        {
            await writer.SaveAsync(link, l =>
            {
                l.Status = nameof(LinkStatus.Synced);
                l.SyncedAt = now;
                l.SyncedEventId = l.RequestedByEventId;
                l.LinkedFrom = newLink ? "sync" : l.LinkedFrom;
            }, cancellationToken);
            if (newLink)
            {
                context.Count(c => c.Linked++);
            }
        }
    }

    private async Task<RecordLinkEntity?> NewLinkAsync(ConsentStateEntity state, SalesforceId id, bool desired, LinkStatus status, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var link = RecordLinkEntity.Create(state.PartitionKey, id, desired, status, "sync", state.StateEventId, now);
        try
        {
            await ledgerSync.LinkAsync(state, link, cancellationToken);
        }
        catch (Azure.Data.Tables.TableTransactionFailedException ex) when (ex.Status == 412)
        {
            // An event for the address arrived meanwhile; the next run links the record from the new state.
            return null;
        }

        context.Count(c => c.Linked++);
        return link;
    }

    private Task AuditDriftAsync(EmailAddress address, SalesforceId id, DateTimeOffset modstamp, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return audit.AppendAsync(
            new AuditEntity
            {
                PartitionKey = address.Key,
                RowKey = AuditLog.EventRowKey(modstamp, IntakeRecords.KeyOf($"drift:{id.Value}:{modstamp.UtcTicks}")),
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
