using Azure;
using Azure.Data.Tables;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One slice of the links an administrator may retry, and where the scan carries on (null when it is complete).</summary>
public sealed record RetryableSlice(IReadOnlyList<RecordLinkEntity> Links, string? Continuation);

public sealed partial class LedgerStore
{
    /// <summary>The statuses an administrator may ask to retry: the write stopped, and is still owed.</summary>
    public static readonly IReadOnlyList<LinkStatus> RetryableStatuses = [LinkStatus.Failed, LinkStatus.Blocked, LinkStatus.Deferred];

    /// <inheritdoc />
    public async Task<RetryableSlice> ScanRetryableAsync(
        IReadOnlyCollection<LinkStatus> statuses, string? errorCode, string? continuation, int maxRows, int maxPages, CancellationToken cancellationToken)
    {
        if (statuses.Count == 0 || statuses.Any(s => !RetryableStatuses.Contains(s)))
        {
            throw new ArgumentException("Only failed, blocked and deferred links can be retried.", nameof(statuses));
        }

        var linkFrom = RecordLinkEntity.RowKeyPrefix;
        var linkTo = LinkRangeEnd;
        var anyStatus = string.Join(" or ", statuses.Select(s => TableClient.CreateQueryFilter($"Status eq {s.ToString()}")));
        var filter = TableClient.CreateQueryFilter($"RowKey ge {linkFrom} and RowKey lt {linkTo}") + $" and ({anyStatus})";
        if (errorCode is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"LastErrorCode eq {errorCode}");
        }

        // Filtered on the server, so a page holds only links to retry; pages are bounded because the filter is not on a
        // key and a large ledger is scanned across calls (the continuation), never in one request.
        var links = new List<RecordLinkEntity>();
        var pages = 0;
        await foreach (var page in Table.QueryAsync<RecordLinkEntity>(filter, maxPerPage: maxRows, cancellationToken: cancellationToken).AsPages(continuation, maxRows))
        {
            links.AddRange(page.Values.Take(maxRows - links.Count));
            continuation = page.ContinuationToken;
            if (++pages >= maxPages || links.Count >= maxRows)
            {
                break;
            }
        }

        return new RetryableSlice(links, pages == 0 ? null : continuation);
    }

    /// <inheritdoc />
    public async Task<bool> RequestRetryAsync(RecordLinkEntity link, CancellationToken cancellationToken)
    {
        link.RequestRetry(timeProvider.GetUtcNow());
        try
        {
            await SaveLinkAsync(link, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Changed (a push, a new event, another retry) or removed since it was read: whoever changed it decided its state.
            return false;
        }
    }
}
