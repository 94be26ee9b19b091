using System.Buffers.Text;
using System.Text;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;

namespace UnsubscribeSync.Functions.Status;

/// <summary>What an administrator asked to retry (<c>POST /api/links/retry</c>).</summary>
/// <param name="Statuses">Failed, blocked and/or deferred.</param>
/// <param name="ErrorCode">Only links whose last error is this Salesforce (or our) code; null for any.</param>
/// <param name="Limit">Most links re-queued by this call.</param>
/// <param name="Continuation">Where an earlier call's scan stopped (opaque), or null to start at the beginning of the ledger.</param>
public sealed record LinkRetryRequest(IReadOnlyList<LinkStatus> Statuses, string? ErrorCode, int Limit, string? Continuation)
{
    public const int DefaultLimit = 500;
    public const int MaxLimit = 5000;
}

/// <summary>What a retry call did.</summary>
/// <param name="Matched">Links found in the asked-for statuses.</param>
/// <param name="Queued">Links now owed again and on the push queue.</param>
/// <param name="ChangedMeanwhile">Links that changed between the scan and the retry (a push, an event or another retry got there first): left as they are.</param>
/// <param name="Complete">True when the scan reached the end of the ledger; false when <see cref="Continuation"/> says where to carry on.</param>
/// <param name="Continuation">Pass as <c>continuation</c> to the next call to carry on the scan; null when complete.</param>
/// <param name="Statuses">The statuses asked for.</param>
/// <param name="ErrorCode">The error code asked for, if any.</param>
public sealed record LinkRetryResult(
    int Matched, int Queued, int ChangedMeanwhile, bool Complete, string? Continuation, IReadOnlyList<string> Statuses, string? ErrorCode);

/// <summary>
/// Re-queues failed, blocked and deferred links at once instead of waiting for the night. Each link is first made owed
/// again (one conditional write, so a second call or a concurrent push never queues it twice), then its push message is
/// queued; a link whose message was lost is still owed, and the nightly sync writes it.
/// </summary>
public sealed partial class LinkRetryService(ILedgerStore ledger, IPushQueue pushQueue, IAuditLog audit, TimeProvider timeProvider, ILogger<LinkRetryService> logger)
{
    private const string Channel = "admin-retry";

    // Query pages one call reads at most: the filter is not on a key, so a large ledger is scanned across calls.
    private const int MaxPages = 20;

    private const int Concurrency = 8;

    public async Task<LinkRetryResult> RetryAsync(LinkRetryRequest request, CancellationToken cancellationToken)
    {
        var slice = await ledger.ScanRetryableAsync(request.Statuses, request.ErrorCode, Decode(request.Continuation), request.Limit, MaxPages, cancellationToken);
        var queued = 0;
        var changed = 0;
        await Parallel.ForEachAsync(slice.Links, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (link, ct) =>
        {
            var before = link.Status;
            var code = link.LastErrorCode;
            if (!await ledger.RequestRetryAsync(link, ct))
            {
                Interlocked.Increment(ref changed);
                return;
            }

            var now = timeProvider.GetUtcNow();
            await audit.AppendAsync(
                AuditEntity.ForWrite(link, link.RequestedByEventId, Channel, "retry-requested", $"Queued again by an administrator from {before} ({code ?? "no code"}).", now),
                ct);
            await pushQueue.SendAsync(
                new PushMessage(PushMessage.CurrentVersion, link.PartitionKey, link.SalesforceId, link.ObjectType, link.DesiredOptOut,
                    link.RequestedByEventId ?? Channel, link.OwedSince ?? now, now),
                ct);
            Interlocked.Increment(ref queued);
        });

        var statuses = request.Statuses.Select(s => s.ToString().ToLowerInvariant()).ToList();
        Log.Retried(logger, slice.Links.Count, queued, changed, string.Join(",", statuses), request.ErrorCode ?? "any", slice.Continuation is null);
        return new LinkRetryResult(slice.Links.Count, queued, changed, slice.Continuation is null, Encode(slice.Continuation), statuses, request.ErrorCode);
    }

    /// <summary>The Tables continuation, opaque to the caller (it carries keys, which are address hashes, not addresses).</summary>
    internal static string? Encode(string? continuation) =>
        continuation is null ? null : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(continuation));

    /// <summary>Reads a continuation this service handed out; throws <see cref="FormatException"/> for anything else.</summary>
    internal static string? Decode(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));

        // The SDK's token is "partition key" and "row key" joined by a space; anything else was not ours.
        if (text.Split(' ') is not [{ Length: > 0 }, _])
        {
            throw new FormatException("Not a continuation of this endpoint.");
        }

        return text;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Admin retry ({Statuses}, code {ErrorCode}): {Matched} links matched, {Queued} queued, {Changed} changed meanwhile; scan complete {Complete}")]
        public static partial void Retried(ILogger logger, int matched, int queued, int changed, string statuses, string errorCode, bool complete);
    }
}
