using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Http;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// <c>POST /api/links/retry?status=failed,blocked,deferred&amp;errorCode=UNABLE_TO_LOCK_ROW&amp;limit=500&amp;continuation=…</c>, behind the
/// admin key: every parameter is optional; bad ones are named in a problem+json answer.
/// </summary>
public sealed partial class LinkRetryHandler(AdminAccess access, LinkRetryService retry, ILogger<LinkRetryHandler> logger)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(30);

    public async Task<IResult> RetryAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (access.Check(request) is { } refused)
        {
            return refused;
        }

        var errors = Errors(request.Query);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors, "Nothing was queued; fix the parameters named in 'errors' and send it again.");
        }

        var parsed = Parse(request.Query);

        try
        {
            return new StatusResult(Results.Json(await retry.RetryAsync(parsed, cancellationToken), StatusHandler.Json));
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            // Links made owed before the failure stay owed: the nightly sync writes them if their messages did not go out.
            Log.StorageUnavailable(logger, ex);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage is temporarily unavailable.",
                "Send the same request again after the Retry-After delay; links already queued are not queued twice.", retryAfter: RetryAfter);
        }
    }

    /// <summary>The request, from parameters <see cref="Errors"/> found usable.</summary>
    private static LinkRetryRequest Parse(IQueryCollection query) =>
        new(
                Statuses(query["status"].ToString()) ?? LedgerStore.RetryableStatuses,
                query["errorCode"].ToString() is { Length: > 0 } code ? code : null,
                query["limit"].ToString() is { Length: > 0 } limit ? int.Parse(limit, CultureInfo.InvariantCulture) : LinkRetryRequest.DefaultLimit,
                query["continuation"].ToString() is { Length: > 0 } token ? token : null);

    internal static Dictionary<string, string[]> Errors(IQueryCollection query)
    {
        var errors = new Dictionary<string, string[]>();
        var status = query["status"].ToString();
        if (status.Length > 0 && Statuses(status) is null)
        {
            errors["status"] = ["Give failed, blocked and/or deferred, separated by commas (or leave it out for all three)."];
        }

        var code = query["errorCode"].ToString();
        if (code.Length > 0 && !ErrorCodePattern().IsMatch(code))
        {
            errors["errorCode"] = ["An error code is 1 to 80 capital letters, digits and underscores, as the status API shows it (for example UNABLE_TO_LOCK_ROW)."];
        }

        var limit = query["limit"].ToString();
        if (limit.Length > 0 && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > LinkRetryRequest.MaxLimit))
        {
            errors["limit"] = [$"The limit is a whole number from 1 to {LinkRetryRequest.MaxLimit}."];
        }

        var continuation = query["continuation"].ToString();
        if (continuation.Length > 0 && !IsContinuation(continuation))
        {
            errors["continuation"] = ["Pass the continuation exactly as an earlier answer gave it, or leave it out to start from the beginning."];
        }

        foreach (var name in query.Keys.Where(k => k is not ("status" or "errorCode" or "limit" or "continuation" or AdminQueryNames.FunctionKey)))
        {
            errors[name] = ["Unknown parameter: the retry takes status, errorCode, limit and continuation."];
        }

        return errors;
    }

    private static List<LinkStatus>? Statuses(string value)
    {
        if (value.Length == 0)
        {
            return null;
        }

        var statuses = new List<LinkStatus>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<LinkStatus>(part, ignoreCase: true, out var status) || !LedgerStore.RetryableStatuses.Contains(status) || part.Any(char.IsDigit))
            {
                return null;
            }

            if (!statuses.Contains(status))
            {
                statuses.Add(status);
            }
        }

        return statuses;
    }

    private static bool IsContinuation(string token)
    {
        try
        {
            return LinkRetryService.Decode(token) is not null;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    [GeneratedRegex("^[A-Z0-9_]{1,80}$")]
    private static partial Regex ErrorCodePattern();

    private static partial class Log
    {
        [LoggerMessage(EventId = 711, Level = LogLevel.Warning, Message = "Admin retry answered 503: storage is unavailable")]
        public static partial void StorageUnavailable(ILogger logger, Exception exception);
    }
}

/// <summary>Query parameters the Functions host itself reads, which an endpoint's own validation must let through.</summary>
internal static class AdminQueryNames
{
    /// <summary>The function key, when sent in the URL rather than the <c>x-functions-key</c> header (so a filter cannot be called <c>code</c>).</summary>
    public const string FunctionKey = "code";
}
