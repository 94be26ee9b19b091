using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using UnsubscribeSync.Functions.Http;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// <c>GET /api/consent/changes?since=&lt;cursor&gt;&amp;limit=&lt;n&gt;</c>: the change feed, a page at a time, as JSON or
/// (<c>Accept: text/csv</c>) CSV. A page holds the changes after <c>since</c> in feed order; its <c>next</c> cursor
/// resumes exactly after the last one, so pages never overlap and never leave a change out (see docs/consent.md).
/// </summary>
public sealed partial class ConsentChangesHandler(ConsentAccess access, IConsentFeed feed, ILogger<ConsentChangesHandler> logger)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public async Task<IResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (access.Check(request) is { } refused)
        {
            return refused;
        }

        var errors = new Dictionary<string, string[]>();
        var limit = DefaultLimit;
        var limitValues = request.Query["limit"];
        if (limitValues.Count > 1 || (limitValues.Count == 1
            && (!int.TryParse(limitValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit)))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit} (default {DefaultLimit})."];
        }

        var cursor = ChangeFeedCursor.Start;
        var sinceValues = request.Query["since"];
        if (sinceValues.Count > 1 || (sinceValues.Count == 1 && sinceValues[0] is { Length: > 0 } since && !ChangeFeedCursor.TryParse(since, out cursor)))
        {
            errors["since"] = ["since must be a cursor this API returned (the 'next' of a page), or absent to start from the first change."];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors, "Fix the query parameters named in 'errors' and ask again.");
        }

        try
        {
            // The head is read first: every entry up to it has committed, so the page below can have no hole in it.
            var head = await feed.GetHeadAsync(cancellationToken);
            if (cursor!.Sequence > 0 && (cursor.FeedId != head.FeedId || cursor.Sequence > head.LastSequence))
            {
                return Problems.Validation(
                    new Dictionary<string, string[]> { ["since"] = ["since belongs to another feed or lies beyond its end (was the table recreated?); start again without since."] },
                    "The cursor does not belong to this feed.");
            }

            var entries = await feed.ReadAsync(cursor.Sequence, head.LastSequence, limit, cancellationToken);
            var page = Contiguous(entries, cursor.Sequence);
            var last = page.Count > 0 ? page[^1].Sequence : cursor.Sequence;
            var next = new ChangeFeedCursor(head.FeedId, last).ToString();
            var hasMore = last < head.LastSequence;
            var headers = new Dictionary<string, string>
            {
                [ConsentResult.NextCursorHeader] = next,
                [ConsentResult.HasMoreHeader] = hasMore ? "true" : "false",
            };
            Log.Served(logger, page.Count, cursor.Sequence, last);
            return WantsCsv(request)
                ? ConsentResult.Csv(ConsentCsv.Write(page), headers)
                : ConsentResult.Json(new ConsentChangesPage(page.Select(ConsentChangeView.From).ToList(), next, hasMore), headers);
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            Log.StorageUnavailable(logger, ex);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage is temporarily unavailable.",
                "Ask again with the same cursor after the Retry-After delay.", retryAfter: ConsentLookupHandler.RetryAfter);
        }
    }

    /// <summary>CSV when the caller prefers <c>text/csv</c> to JSON; JSON otherwise (also for no Accept at all).</summary>
    public static bool WantsCsv(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double Quality(string mediaType) => accepted
            .Where(a => a.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            .Select(a => a.Quality ?? 1.0)
            .DefaultIfEmpty(-1)
            .Max();

        // Named explicitly, text/csv wins a tie with application/json; a bare */* means "whatever", which is JSON.
        var csv = Quality("text/csv");
        return csv > 0 && csv >= Quality("application/json");
    }

    // The entries up to the head are all there; a gap would mean the table was edited by hand. Stop before it rather than
    // hand out a cursor past a change the caller never saw.
    private List<FeedEntryEntity> Contiguous(IReadOnlyList<FeedEntryEntity> entries, long after)
    {
        var page = new List<FeedEntryEntity>(entries.Count);
        var expected = after + 1;
        foreach (var entry in entries)
        {
            if (entry.Sequence != expected)
            {
                Log.Gap(logger, expected, entry.Sequence);
                break;
            }

            page.Add(entry);
            expected++;
        }

        return page;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 620, Level = LogLevel.Information, Message = "Consent changes: served {Count} changes after {After} (up to {Last})")]
        public static partial void Served(ILogger logger, int count, long after, long last);

        [LoggerMessage(EventId = 621, Level = LogLevel.Critical, Message = "Consent change feed has a gap: expected entry {Expected}, found {Found}; the page stops before it")]
        public static partial void Gap(ILogger logger, long expected, long found);

        [LoggerMessage(EventId = 622, Level = LogLevel.Error, Message = "Consent changes failed: storage is unavailable; answered 503")]
        public static partial void StorageUnavailable(ILogger logger, Exception exception);
    }
}
