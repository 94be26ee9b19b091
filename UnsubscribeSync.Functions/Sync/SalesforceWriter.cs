using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>
/// Writes ledger links to Salesforce for the nightly sync: 200 records per sObject Collections call,
/// optionally reading current values first so nothing already there is written, following converted leads
/// and merged records to their new record, and recording every outcome on the link and in the audit.
/// </summary>
public sealed partial class SalesforceWriter(
    ISalesforceClient salesforce,
    IRecordRedirectResolver redirects,
    IOptOutFieldResolver fields,
    ILedgerStore ledger,
    ILedgerSyncStore ledgerSync,
    IAuditLog audit,
    ApiBudget budget,
    TimeProvider timeProvider,
    ILogger<SalesforceWriter> logger)
{
    private const int CollectionSize = 200;

    /// <summary>Writes each link's desired value where Salesforce does not hold it yet.</summary>
    /// <param name="links">Links to write, at most a few hundred.</param>
    /// <param name="readFirst">Read the records' current values first (one query per object type per 200) and write only the differences.</param>
    /// <param name="context">The batch.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public async Task WriteAsync(IReadOnlyList<RecordLinkEntity> links, bool readFirst, SyncBatchContext context, CancellationToken cancellationToken)
    {
        if (links.Count == 0)
        {
            return;
        }

        if (StopIfOverBudget(context))
        {
            await DeferAsync(links, context, cancellationToken);
            return;
        }

        var resolution = await fields.ResolveAsync(cancellationToken);
        var usable = new List<RecordLinkEntity>();
        foreach (var link in links)
        {
            var status = resolution.For(SalesforceId.Parse(link.SalesforceId).ObjectType);
            if (status.IsUsable)
            {
                usable.Add(link);
                continue;
            }

            // A configuration problem: every write would fail the same way, so none is attempted.
            await SaveAsync(link, l =>
            {
                l.Status = nameof(LinkStatus.Blocked);
                l.LastErrorCode = "OPT_OUT_FIELD_UNUSABLE";
                l.LastErrorMessage = status.Problem;
            }, cancellationToken);
            context.Count(c => c.Blocked++);
        }

        var toWrite = readFirst ? await ReadAndFilterAsync(usable, resolution, context, cancellationToken) : usable;
        await WriteRoundAsync(toWrite, resolution, context, followRedirects: true, cancellationToken);
    }

    /// <summary>Marks links Deferred: the budget or the daily limit stopped Salesforce work.</summary>
    public async Task DeferAsync(IEnumerable<RecordLinkEntity> links, SyncBatchContext context, CancellationToken cancellationToken)
    {
        foreach (var link in links)
        {
            await SaveAsync(link, l =>
            {
                l.Status = nameof(LinkStatus.Deferred);
                l.LastErrorCode = "API_BUDGET";
                l.LastErrorMessage = "Deferred to protect the org's daily API allocation.";
            }, cancellationToken);
            context.Count(c => c.Deferred++);
        }
    }

    /// <summary>True (and the batch marked stopped) when no more Salesforce work may start.</summary>
    public bool StopIfOverBudget(SyncBatchContext context)
    {
        if (!context.BudgetStopped && budget.IsExhausted)
        {
            context.BudgetStopped = true;
            Log.BudgetReached(logger, context.RunId);
        }

        return context.BudgetStopped;
    }

    /// <summary>Marks a link confirmed: Salesforce holds its desired value.</summary>
    public Task ConfirmAsync(RecordLinkEntity link, CancellationToken cancellationToken, bool attempted = false) =>
        SaveAsync(link, l =>
        {
            l.Attempts += attempted ? 1 : 0;
            l.Status = nameof(LinkStatus.Synced);
            l.SyncedAt = timeProvider.GetUtcNow();
            l.SyncedEventId = l.RequestedByEventId;
            l.LastErrorCode = null;
            l.LastErrorMessage = null;
        }, cancellationToken);

    /// <summary>Replaces a link with its ETag; if someone changed it meanwhile, re-applies the change only while it still wants the same value.</summary>
    public async Task SaveAsync(RecordLinkEntity link, Action<RecordLinkEntity> change, CancellationToken cancellationToken)
    {
        change(link);
        try
        {
            await ledger.UpdateLinkAsync(link, cancellationToken);
            return;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // The push worker or an event touched it; decide again from what is stored now.
        }

        var current = await ledgerSync.GetLinkAsync(link.PartitionKey, link.SalesforceId, cancellationToken);
        if (current is null || current.DesiredOptOut != link.DesiredOptOut || current.LinkStatus == LinkStatus.Synced)
        {
            return;
        }

        change(current);
        try
        {
            await ledger.UpdateLinkAsync(current, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // Still moving: whoever is changing it owns the outcome; the next run sees the result.
        }
    }

    private async Task<List<RecordLinkEntity>> ReadAndFilterAsync(List<RecordLinkEntity> links, OptOutFieldResolution resolution, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var toWrite = new List<RecordLinkEntity>();
        var moved = new List<(RecordLinkEntity Link, RecordRedirect Redirect, string Code)>();
        var gone = new List<RecordLinkEntity>();
        foreach (var group in links.GroupBy(l => SalesforceId.Parse(l.SalesforceId).ObjectType))
        {
            var field = resolution.For(group.Key).FieldName!;
            foreach (var chunk in group.Chunk(CollectionSize))
            {
                if (StopIfOverBudget(context))
                {
                    await DeferAsync(chunk, context, cancellationToken);
                    continue;
                }

                var isLead = group.Key == SalesforceObjectType.Lead;
                var soql = $"SELECT Id, {field}{(isLead ? ", IsConverted, ConvertedContactId" : string.Empty)} FROM {group.Key} WHERE Id IN {Soql.InList(chunk.Select(l => l.SalesforceId))}";
                var values = new Dictionary<string, CurrentValue>(StringComparer.OrdinalIgnoreCase);
                try
                {
                    await foreach (var row in salesforce.QueryAsync<JsonElement>(soql, cancellationToken))
                    {
                        var id = SalesforceId.Parse(row.GetProperty("Id").GetString());
                        values[id.Value] = new CurrentValue(
                            ReadBool(row, field),
                            isLead && ReadBool(row, "IsConverted"),
                            isLead ? ReadString(row, "ConvertedContactId") : null);
                    }

                    context.Count(c => c.ApiCalls++);
                }
                catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
                {
                    context.Count(c => c.ApiCalls++);
                    context.BudgetStopped = true;
                    await DeferAsync(chunk, context, cancellationToken);
                    continue;
                }

                foreach (var link in chunk)
                {
                    if (!values.TryGetValue(link.SalesforceId, out var current))
                    {
                        gone.Add(link);
                    }
                    else if (current.IsConverted)
                    {
                        var target = SalesforceId.TryParse(current.ConvertedContactId, out var contact, out _) ? contact : (SalesforceId?)null;
                        moved.Add((link, new RecordRedirect(SalesforceId.Parse(link.SalesforceId), target,
                            target is null ? "The lead is converted but Salesforce names no converted contact." : null), RecordRedirectResolver.ConvertedLead));
                    }
                    else if (current.OptedOut == link.DesiredOptOut)
                    {
                        await ConfirmAsync(link, cancellationToken);
                        context.Count(c => c.AlreadyCorrect++);
                    }
                    else
                    {
                        toWrite.Add(link);
                    }
                }
            }
        }

        if (gone.Count > 0)
        {
            // Not returned by query: deleted or merged away; queryAll tells which.
            var resolved = await redirects.ResolveAsync(gone.Select(l => (SalesforceId.Parse(l.SalesforceId), RecordRedirectResolver.Deleted)).ToList(), cancellationToken);
            context.Count(c => c.ApiCalls += gone.GroupBy(l => l.ObjectType).Sum(g => (g.Count() + CollectionSize - 1) / CollectionSize));
            moved.AddRange(gone.Zip(resolved, (link, redirect) => (link, redirect, RecordRedirectResolver.Deleted)));
        }

        await FollowAsync(moved, resolution, context, cancellationToken);
        return toWrite;
    }

    private async Task WriteRoundAsync(List<RecordLinkEntity> links, OptOutFieldResolution resolution, SyncBatchContext context, bool followRedirects, CancellationToken cancellationToken)
    {
        var needRedirect = new List<(RecordLinkEntity Link, string Code)>();
        foreach (var chunk in links.Chunk(CollectionSize))
        {
            if (StopIfOverBudget(context))
            {
                await DeferAsync(chunk, context, cancellationToken);
                continue;
            }

            var updates = chunk.Select(l =>
            {
                var id = SalesforceId.Parse(l.SalesforceId);
                return new SalesforceRecordUpdate(id, new Dictionary<string, object?> { [resolution.For(id.ObjectType).FieldName!] = l.DesiredOptOut });
            }).ToList();

            IReadOnlyList<RecordResult> results;
            try
            {
                context.Count(c => c.ApiCalls++);
                results = await salesforce.UpdateRecordsAsync(updates, cancellationToken);
            }
            catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
            {
                context.BudgetStopped = true;
                Log.DailyLimitReached(logger, context.RunId);
                await DeferAsync(chunk, context, cancellationToken);
                continue;
            }
            catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.Permanent)
            {
                // The whole request was refused (not one record): every record carries Salesforce's reason.
                foreach (var link in chunk)
                {
                    await FailAsync(link, ex.ErrorCode ?? "REQUEST_REFUSED", ex.Message, permanent: true, context, cancellationToken);
                }

                continue;
            }

            for (var i = 0; i < chunk.Length; i++)
            {
                var link = chunk[i];
                var result = results[i];
                if (result.Success)
                {
                    await ConfirmAsync(link, cancellationToken, attempted: true);
                    context.Count(c => c.Written++);
                    await AuditAsync(link, "synced", null, cancellationToken);
                }
                else if (result.Kind == SalesforceErrorKind.NeedsRedirect && followRedirects)
                {
                    needRedirect.Add((link, result.ErrorCode!));
                }
                else if (result.Kind == SalesforceErrorKind.LimitExceeded)
                {
                    context.BudgetStopped = true;
                    await DeferAsync([link], context, cancellationToken);
                }
                else
                {
                    await FailAsync(link, result.ErrorCode, result.ErrorMessage, permanent: result.Kind != SalesforceErrorKind.Transient, context, cancellationToken);
                }
            }
        }

        if (needRedirect.Count > 0)
        {
            var resolved = await redirects.ResolveAsync(needRedirect.Select(r => (SalesforceId.Parse(r.Link.SalesforceId), r.Code)).ToList(), cancellationToken);
            context.Count(c => c.ApiCalls += needRedirect.GroupBy(r => (r.Code, r.Link.ObjectType)).Sum(g => (g.Count() + CollectionSize - 1) / CollectionSize));
            await FollowAsync(needRedirect.Zip(resolved, (r, redirect) => (r.Link, redirect, r.Code)).ToList(), resolution, context, cancellationToken);
        }
    }

    private async Task FollowAsync(List<(RecordLinkEntity Link, RecordRedirect Redirect, string Code)> moved, OptOutFieldResolution resolution, SyncBatchContext context, CancellationToken cancellationToken)
    {
        var next = new List<RecordLinkEntity>();
        foreach (var (link, redirect, code) in moved)
        {
            if (redirect.Target is not { } target)
            {
                await SaveAsync(link, l =>
                {
                    l.Status = nameof(LinkStatus.Dead);
                    l.LastErrorCode = code;
                    l.LastErrorMessage = redirect.DeadReason;
                }, cancellationToken);
                await AuditAsync(link, "dead", $"{code}: {redirect.DeadReason}", cancellationToken);
                continue;
            }

            var successor = await LinkSuccessorAsync(link, target, cancellationToken);
            await SaveAsync(link, l =>
            {
                l.Status = nameof(LinkStatus.Dead);
                l.LastErrorCode = code;
                l.LastErrorMessage = $"Followed to {target.Value}.";
            }, cancellationToken);
            await AuditAsync(link, "redirected", $"{code}: followed to {target.Value}", cancellationToken);
            context.Count(c => c.Redirected++);
            if (successor is not null)
            {
                context.Count(c => c.Linked++);
                next.Add(successor);
            }
        }

        // The successor's value is unknown; one blind write per 200 costs what a read would.
        await WriteRoundAsync(next, resolution, context, followRedirects: false, cancellationToken);
    }

    private async Task<RecordLinkEntity?> LinkSuccessorAsync(RecordLinkEntity from, SalesforceId target, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var existing = await ledgerSync.GetLinkAsync(from.PartitionKey, target.Value, cancellationToken);
            if (existing is not null)
            {
                return existing.LinkStatus is LinkStatus.Synced or LinkStatus.Dead && existing.DesiredOptOut == from.DesiredOptOut ? null : existing;
            }

            var state = await ledgerSync.GetStateAsync(from.PartitionKey, cancellationToken);
            if (state is null)
            {
                return null;
            }

            var now = timeProvider.GetUtcNow();
            var link = new RecordLinkEntity
            {
                PartitionKey = from.PartitionKey,
                RowKey = RecordLinkEntity.RowKeyFor(target.Value),
                SalesforceId = target.Value,
                ObjectType = target.SObjectName,
                DesiredOptOut = from.DesiredOptOut,
                Status = nameof(LinkStatus.Pending),
                RequestedByEventId = from.RequestedByEventId,
                LinkedFrom = "redirect",
                LinkedAt = now,
                UpdatedAt = now,
            };
            try
            {
                await ledgerSync.LinkAsync(state, link, cancellationToken);
                return link;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 412)
            {
                // The address changed meanwhile; read it again.
            }
        }

        return null;
    }

    private async Task FailAsync(RecordLinkEntity link, string? code, string? message, bool permanent, SyncBatchContext context, CancellationToken cancellationToken)
    {
        await SaveAsync(link, l =>
        {
            // A transient failure that outlived the retries keeps the link owed; the next run tries again.
            if (permanent)
            {
                l.Status = nameof(LinkStatus.Failed);
            }

            l.Attempts++;
            l.LastErrorCode = code;
            l.LastErrorMessage = message;
        }, cancellationToken);
        context.Count(c => c.AddFailure(code));
        await AuditAsync(link, "failed", $"{code}: {message}", cancellationToken);
    }

    private Task AuditAsync(RecordLinkEntity link, string outcome, string? detail, CancellationToken cancellationToken) =>
        audit.AppendAsync(AuditEntity.ForWrite(link, link.RequestedByEventId, "nightly-sync", outcome, detail, timeProvider.GetUtcNow()), cancellationToken);

    internal static bool ReadBool(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    internal static string? ReadString(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed record CurrentValue(bool OptedOut, bool IsConverted, string? ConvertedContactId);

    private static partial class Log
    {
        [LoggerMessage(EventId = 520, Level = LogLevel.Warning, Message = "Sync run {RunId}: the Salesforce API budget is reached; remaining writes are deferred")]
        public static partial void BudgetReached(ILogger logger, string runId);

        [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "Sync run {RunId}: Salesforce's daily API limit is reached; remaining writes are deferred")]
        public static partial void DailyLimitReached(ILogger logger, string runId);
    }
}
