using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Delivery;

/// <summary>How a write was made: which channel records it, and whether Salesforce is read first.</summary>
/// <param name="Channel">push or nightly-sync: named in the audit.</param>
/// <param name="ReadFirst">Read the records' current values first (one query per object type per 200) and write only the differences.</param>
/// <param name="VerifyConfirmed">
/// Also take links the ledger holds as confirmed, read their values first, and write those Salesforce no longer holds
/// (recorded as drift). For a redelivered push message: its worker may have died after an old value landed.
/// </param>
public sealed record WriteOptions(string Channel, bool ReadFirst = false, bool VerifyConfirmed = false)
{
    /// <summary>Whether values are read before writing.</summary>
    public bool Reads => ReadFirst || VerifyConfirmed;
}

/// <summary>One outcome the writer recorded: for a link it was given, or for a record it followed a redirect to.</summary>
/// <param name="Link">The link the outcome belongs to.</param>
/// <param name="Outcome">What Salesforce said.</param>
/// <param name="Recorded">How the ledger took it.</param>
/// <param name="NewlyLinked">The writer linked this record to the address (a redirect's target).</param>
public sealed record WriteResult(RecordLinkEntity Link, LinkOutcome Outcome, RecordedOutcome Recorded, bool NewlyLinked = false);

/// <summary>
/// Writes ledger links' desired values to Salesforce, for push (a batch of one) and the nightly sync (up to a few
/// hundred): one PATCH for a single record, one sObject Collections call per 200 otherwise. It checks the opt-out
/// field first, follows converted leads and merged records to the record that now carries the address, and hands
/// every outcome to the ledger's <see cref="ILinkOutcomeRecorder"/>. It makes no budget decisions of its own: it
/// asks the caller's <see cref="IWriteBudget"/> before each call.
/// </summary>
public sealed partial class SalesforceWriter(
    ISalesforceClient salesforce,
    IRecordRedirectResolver redirects,
    IOptOutFieldResolver fields,
    ILedgerStore ledger,
    ILinkOutcomeRecorder recorder,
    IOptions<SyncOptions> syncOptions,
    ILogger<SalesforceWriter> logger)
{
    public const string FieldUnusableCode = "OPT_OUT_FIELD_UNUSABLE";
    public const string BudgetCode = "API_BUDGET";
    public const string NoPersonAccountsCode = "NO_PERSON_ACCOUNTS";
    /// <summary>Records per sObject Collections call (Salesforce's maximum).</summary>
    public const int CollectionSize = 200;
    // Outcomes recorded at once per call: enough to keep a collection's recording shorter than its round trip, few
    // enough that a burst of calls does not flood the storage account (or Azurite in tests).
    private const int RecordingConcurrency = 8;
    private const string DailyLimitMessage = "The org's daily API limit is reached; the nightly sync will write it.";

    /// <summary>
    /// Brings each owed link in line with the ledger and records the outcome. A transient failure of a whole call is
    /// recorded on each of its links and then thrown, so the caller's queue retries; every other outcome is returned.
    /// </summary>
    public async Task<IReadOnlyList<WriteResult>> WriteAsync(IReadOnlyList<RecordLinkEntity> links, WriteOptions options, IWriteBudget budget, CancellationToken cancellationToken)
    {
        var run = new Run(options, budget, []);
        var owed = new List<RecordLinkEntity>();
        // A confirmed link is taken too when it may be confirmed on another field than the one in force (known only
        // once the field is resolved, below); a row confirmed before the field was recorded is taken as confirmed.
        foreach (var link in links.Where(l => l.IsOwed || l.Status == LinkStatus.Synced && (options.VerifyConfirmed || l.SyncedField is not null)))
        {
            if (!link.DesiredOptOut && !syncOptions.Value.PushResubscribes)
            {
                // A confirmed resubscribe is not verified either: nothing would be written to repair it.
                if (link.IsOwed)
                {
                    await RecordAsync(run, link, LinkOutcome.NotRequired(false, "Resubscribes are not written to Salesforce (Sync__PushResubscribes is false)."), cancellationToken);
                }
            }
            else
            {
                owed.Add(link);
            }
        }

        if (owed.Count == 0)
        {
            return run.Results;
        }

        await budget.RefreshUsageAsync(cancellationToken);
        owed = await AdmitAsync(run, owed, cancellationToken);
        if (owed.Count == 0)
        {
            return run.Results;
        }

        OptOutFieldResolution resolution;
        try
        {
            // The field check is a Salesforce call too (cached), so its failures take the same paths as a write's.
            resolution = await fields.ResolveAsync(cancellationToken);
        }
        catch (Exception ex) when (AsCallFailure(ex, cancellationToken) is { } failure)
        {
            await RecordCallFailureAsync(run, owed, failure with { Attempted = false }, ex, cancellationToken);
            return run.Results;
        }

        var usable = new List<RecordLinkEntity>();
        foreach (var link in owed)
        {
            var objectType = SalesforceId.Parse(link.SalesforceId).ObjectType;
            var status = resolution.For(objectType);
            if (link.Status == LinkStatus.Synced && !options.VerifyConfirmed && (link.SyncedField is null || link.IsConfirmedOn(status.FieldName ?? string.Empty)))
            {
                // Confirmed on the field in force: nothing is owed.
                continue;
            }

            if (status.IsUsable)
            {
                usable.Add(link);
            }
            else
            {
                // A configuration problem: every write would fail the same way, so none is attempted. An Account Id in an
                // org without Person Accounts is the org's too: blocked, so the queue stops retrying it and it waits for them.
                var code = objectType == SalesforceObjectType.PersonAccount && !resolution.HasPersonAccounts ? NoPersonAccountsCode : FieldUnusableCode;
                await RecordAsync(run, link, LinkOutcome.Blocked(link.DesiredOptOut, code, status.Problem, attempted: false), cancellationToken);
                Log.Blocked(logger, link.SalesforceId, code);
            }
        }

        var toWrite = options.Reads ? await ReadAndFilterAsync(run, usable, resolution, cancellationToken) : usable;
        await WriteRoundAsync(run, toWrite, resolution, followRedirects: true, cancellationToken);

        // A write of an old value that landed after the link moved on is written once more with the current value.
        var rewrite = run.Results.Where(r => r.Recorded.MustRewrite && r.Recorded.Link is { IsOwed: true }).Select(r => r.Recorded.Link!).ToList();
        await WriteRoundAsync(run, rewrite, resolution, followRedirects: false, cancellationToken);
        return run.Results;
    }

    private async Task<List<RecordLinkEntity>> ReadAndFilterAsync(Run run, List<RecordLinkEntity> links, OptOutFieldResolution resolution, CancellationToken cancellationToken)
    {
        var toWrite = new List<RecordLinkEntity>();
        var moved = new List<(RecordLinkEntity Link, RecordRedirect Redirect, string Code)>();
        var gone = new List<RecordLinkEntity>();
        foreach (var group in links.GroupBy(l => SalesforceId.Parse(l.SalesforceId).ObjectType))
        {
            var field = resolution.For(group.Key).FieldName!;
            foreach (var offered in group.Chunk(CollectionSize))
            {
                var chunk = await AdmitAsync(run, offered, cancellationToken);
                if (chunk.Count == 0)
                {
                    continue;
                }

                var isLead = group.Key == SalesforceObjectType.Lead;
                var soql = $"SELECT Id, {field}{(isLead ? ", IsConverted, ConvertedContactId" : string.Empty)} FROM {group.Key.SObjectName()} WHERE Id IN {Soql.InList(chunk.Select(l => l.SalesforceId))}";
                var rows = new Dictionary<string, SObjectRow>(StringComparer.OrdinalIgnoreCase);
                try
                {
                    await foreach (var row in salesforce.QueryAsync<SObjectRow>(soql, cancellationToken))
                    {
                        if (row.Id is { } id)
                        {
                            rows[id.Value] = row;
                        }
                    }
                }
                catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.LimitExceeded)
                {
                    StopForDailyLimit(run);
                    await DeferAsync(run, chunk, cancellationToken);
                    continue;
                }

                foreach (var link in chunk)
                {
                    if (!rows.TryGetValue(link.SalesforceId, out var current))
                    {
                        gone.Add(link);
                    }
                    else if (isLead && current.GetBool("IsConverted"))
                    {
                        var target = SalesforceId.TryParse(current.GetString("ConvertedContactId"), out var contact, out _) ? contact : (SalesforceId?)null;
                        moved.Add((link, new RecordRedirect(SalesforceId.Parse(link.SalesforceId), target,
                            target is null ? "The lead is converted but Salesforce names no converted contact." : null), RecordRedirectResolver.ConvertedLead));
                    }
                    else if (current.GetBool(field) == link.DesiredOptOut)
                    {
                        await RecordAsync(run, link, LinkOutcome.Observed(link.DesiredOptOut, field), cancellationToken);
                    }
                    else if (link.Status == LinkStatus.Synced)
                    {
                        // Confirmed, yet Salesforce holds the other value: the read reopens the link (DRIFT, audited; or
                        // FIELD_CHANGED when it was confirmed on another field), and the reopened link is written in this same call.
                        if (await RecordAsync(run, link, LinkOutcome.Observed(!link.DesiredOptOut, field), cancellationToken) is { Link: { IsOwed: true } reopened })
                        {
                            toWrite.Add(reopened);
                        }
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
            var resolved = await redirects.ResolveAsync([.. gone.Select(l => (SalesforceId.Parse(l.SalesforceId), RecordRedirectResolver.Deleted))], cancellationToken);
            moved.AddRange(gone.Zip(resolved, (link, redirect) => (link, redirect, RecordRedirectResolver.Deleted)));
        }

        await FollowAsync(run, moved, resolution, attempted: false, cancellationToken);
        return toWrite;
    }

    private async Task WriteRoundAsync(Run run, List<RecordLinkEntity> links, OptOutFieldResolution resolution, bool followRedirects, CancellationToken cancellationToken)
    {
        var needRedirect = new List<(RecordLinkEntity Link, string Code)>();
        foreach (var offered in links.Chunk(CollectionSize))
        {
            var chunk = (await AdmitAsync(run, offered, cancellationToken)).ToArray();
            if (chunk.Length == 0)
            {
                continue;
            }

            IReadOnlyList<RecordResult> results;
            try
            {
                results = await CallAsync(chunk, resolution, cancellationToken);
            }
            catch (Exception ex) when (AsCallFailure(ex, cancellationToken) is { } failure)
            {
                await RecordCallFailureAsync(run, chunk, failure, ex, cancellationToken);
                continue;
            }

            var outcomes = new List<(RecordLinkEntity Link, LinkOutcome Outcome)>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                var link = chunk[i];
                var result = results[i];
                if (result.Success)
                {
                    var field = resolution.For(SalesforceId.Parse(link.SalesforceId).ObjectType).FieldName!;
                    outcomes.Add((link, LinkOutcome.Written(link.DesiredOptOut, field)));
                }
                else if (result.Kind == SalesforceErrorKind.NeedsRedirect && followRedirects)
                {
                    needRedirect.Add((link, result.ErrorCode ?? RecordRedirectResolver.Deleted));
                }
                else
                {
                    outcomes.Add((link, Classify(run, link.DesiredOptOut, result.Kind, result.ErrorCode, result.ErrorMessage)));
                }
            }

            await RecordEachAsync(run, outcomes, cancellationToken);
        }

        if (needRedirect.Count > 0)
        {
            var resolved = await redirects.ResolveAsync([.. needRedirect.Select(r => (SalesforceId.Parse(r.Link.SalesforceId), r.Code))], cancellationToken);
            await FollowAsync(run, [.. needRedirect.Zip(resolved, (r, redirect) => (r.Link, redirect, r.Code))], resolution, attempted: true, cancellationToken);
        }
    }

    /// <summary>One record is one PATCH, the cheapest call for an idle push; more go 200 to a collections call.</summary>
    private async Task<IReadOnlyList<RecordResult>> CallAsync(RecordLinkEntity[] chunk, OptOutFieldResolution resolution, CancellationToken cancellationToken)
    {
        var updates = chunk.Select(l =>
        {
            var id = SalesforceId.Parse(l.SalesforceId);
            return new SalesforceRecordUpdate(id, new Dictionary<string, object?> { [resolution.For(id.ObjectType).FieldName!] = l.DesiredOptOut });
        }).ToList();
        if (updates.Count > 1)
        {
            return await salesforce.UpdateRecordsAsync(updates, cancellationToken);
        }

        try
        {
            await salesforce.UpdateRecordAsync(updates[0].Id, updates[0].Fields, cancellationToken);
            return [new RecordResult(updates[0].Id, true, [], null)];
        }
        catch (SalesforceApiException ex) when (ex.Kind is not SalesforceErrorKind.Transient)
        {
            // A refusal of the one record is that record's result, as a collections call would report it.
            return [new RecordResult(updates[0].Id, false, ex.Errors.Count > 0 ? ex.Errors : [new SalesforceError(ex.Kind.ToString(), ex.Message, [])], ex.Kind)];
        }
    }

    private async Task FollowAsync(Run run, List<(RecordLinkEntity Link, RecordRedirect Redirect, string Code)> moved, OptOutFieldResolution resolution, bool attempted, CancellationToken cancellationToken)
    {
        var next = new List<RecordLinkEntity>();
        foreach (var (link, redirect, code) in moved)
        {
            if (redirect.NotFoundReason is { } notFound)
            {
                await RecordAsync(run, link, LinkOutcome.Failed(link.DesiredOptOut, RecordRedirect.NotFoundCode, notFound, attempted), cancellationToken);
                continue;
            }

            if (redirect.Target is not { } target)
            {
                await RecordAsync(run, link, LinkOutcome.Dead(link.DesiredOptOut, code, redirect.DeadReason), cancellationToken);
                continue;
            }

            var successor = await ledger.LinkAsync(link.PartitionKey, target, "redirect", observedOptOut: null, cancellationToken);
            var detail = code == RecordRedirectResolver.ConvertedLead
                ? $"Converted to contact {target.Value}; writes go there."
                : $"Merged into {target.Value}; writes go there.";
            await RecordAsync(run, link, LinkOutcome.Redirected(link.DesiredOptOut, code, target.Value, detail), cancellationToken);
            Log.Redirected(logger, link.SalesforceId, target.Value, code);
            if (successor is { Link.IsOwed: true })
            {
                next.Add(successor.Link);
            }

            if (successor is { Created: true })
            {
                run.Linked.Add(target.Value);
            }
        }

        // The successor's value is unknown; one blind write per 200 costs what a read would.
        await WriteRoundAsync(run, next, resolution, followRedirects: false, cancellationToken);
    }

    private LinkOutcome Classify(Run run, bool value, SalesforceErrorKind? kind, string? code, string? message)
    {
        switch (kind)
        {
            case SalesforceErrorKind.LimitExceeded:
                StopForDailyLimit(run);
                return LinkOutcome.Deferred(value, code ?? "REQUEST_LIMIT_EXCEEDED", DailyLimitMessage, attempted: true);
            case SalesforceErrorKind.Authentication:
            case SalesforceErrorKind.Permanent when code is "INVALID_FIELD" or "INVALID_FIELD_FOR_INSERT_UPDATE":
                // A field or credential problem is the org's configuration, not this record: check the field afresh next time.
                fields.Invalidate();
                return LinkOutcome.Blocked(value, code ?? kind.Value.ToString(), message, attempted: true);
            case SalesforceErrorKind.Transient:
                return LinkOutcome.Transient(value, code ?? "TRANSIENT", message);
            case SalesforceErrorKind.NeedsRedirect:
                return LinkOutcome.Failed(value, code ?? "NEEDS_REDIRECT", $"Salesforce asked to follow the record again after a redirect: {message}");
            default:
                return LinkOutcome.Failed(value, code ?? "UNKNOWN_ERROR", message);
        }
    }

    /// <summary>What a failed call means for each of its records, or null for failures that are not Salesforce's (storage, our cancellation).</summary>
    private static CallFailure? AsCallFailure(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        SalesforceApiException sfe => new CallFailure(sfe.Kind, sfe.ErrorCode ?? sfe.Kind.ToString(), sfe.Message, Attempted: true),
        Azure.RequestFailedException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,

        // Network faults and timeouts that outlived the client's own retries.
        _ => new CallFailure(SalesforceErrorKind.Transient, ex.GetType().Name, ex.Message, Attempted: true),
    };

    private async Task RecordCallFailureAsync(Run run, IReadOnlyList<RecordLinkEntity> links, CallFailure failure, Exception exception, CancellationToken cancellationToken)
    {
        await RecordEachAsync(run, [.. links.Select(link => (link, Classify(run, link.DesiredOptOut, failure.Kind, failure.Code, failure.Message) with { Attempted = failure.Attempted }))], cancellationToken);

        if (failure.Kind == SalesforceErrorKind.Transient)
        {
            Log.Transient(logger, links.Count, failure.Code);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exception);
        }
    }

    /// <summary>The links the budget lets a call write now; it defers the others (the decision is the budget's).</summary>
    private async Task<List<RecordLinkEntity>> AdmitAsync(Run run, IReadOnlyList<RecordLinkEntity> links, CancellationToken cancellationToken)
    {
        var admitted = new List<RecordLinkEntity>();
        var deferred = new List<RecordLinkEntity>();
        foreach (var link in links)
        {
            (run.Budget.CanCallSalesforce(link) ? admitted : deferred).Add(link);
        }

        await DeferAsync(run, deferred, cancellationToken);
        return admitted;
    }

    private async Task DeferAsync(Run run, IEnumerable<RecordLinkEntity> links, CancellationToken cancellationToken)
    {
        foreach (var link in links)
        {
            await RecordAsync(run, link, LinkOutcome.Deferred(link.DesiredOptOut, BudgetCode, "Deferred to protect the org's daily API allocation.", attempted: false), cancellationToken);
        }
    }

    private static void StopForDailyLimit(Run run) => run.Budget.StopForDailyLimit();

    private async Task<RecordedOutcome> RecordAsync(Run run, RecordLinkEntity link, LinkOutcome outcome, CancellationToken cancellationToken)
    {
        var recorded = await recorder.RecordAsync(link, outcome, run.Options.Channel, cancellationToken);
        lock (run.Results)
        {
            run.Results.Add(new WriteResult(link, outcome, recorded, run.Linked.Contains(link.SalesforceId)));
        }

        return recorded;
    }

    /// <summary>
    /// Records one call's outcomes. Each is a few storage requests, so a collection's 200 recorded one after another
    /// would take longer than the call itself: addresses are recorded side by side, a few at a time; one address's
    /// links stay in order, so they never race each other on the address's rows.
    /// </summary>
    private async Task RecordEachAsync(Run run, IReadOnlyList<(RecordLinkEntity Link, LinkOutcome Outcome)> outcomes, CancellationToken cancellationToken)
    {
        if (outcomes.Count <= 1)
        {
            foreach (var (link, outcome) in outcomes)
            {
                await RecordAsync(run, link, outcome, cancellationToken);
            }

            return;
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = RecordingConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(outcomes.GroupBy(o => o.Link.PartitionKey, StringComparer.Ordinal), options, async (address, ct) =>
        {
            foreach (var (link, outcome) in address)
            {
                await RecordAsync(run, link, outcome, ct);
            }
        });
    }

    private sealed record Run(WriteOptions Options, IWriteBudget Budget, List<WriteResult> Results)
    {
        public HashSet<string> Linked { get; } = new(StringComparer.Ordinal);
    }

    private sealed record CallFailure(SalesforceErrorKind Kind, string Code, string Message, bool Attempted);

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Writes to {SalesforceId} are blocked by configuration ({ErrorCode}); they are retried once it is fixed")]
        public static partial void Blocked(ILogger logger, string salesforceId, string errorCode);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{SalesforceId} is gone ({ErrorCode}); following it to {TargetId}")]
        public static partial void Redirected(ILogger logger, string salesforceId, string targetId, string errorCode);

        [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "A Salesforce call for {Count} records failed transiently ({ErrorCode}); recorded on each link and retried by the queue")]
        public static partial void Transient(ILogger logger, int count, string errorCode);
    }
}
