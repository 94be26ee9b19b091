using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Reads Salesforce error bodies and decides what each error means for retries. One place, so the
/// resilience pipeline, the client and collection results agree (the error kinds in docs/salesforce-client.md).
/// </summary>
internal static partial class SalesforceErrors
{
    /// <summary>Classifies one error by HTTP status, error code and, where Salesforce overloads a code, its message.</summary>
    public static SalesforceErrorKind Classify(int status, string? errorCode, string? message)
    {
        message ??= string.Empty;
        switch (errorCode)
        {
            case "INVALID_SESSION_ID":
                return SalesforceErrorKind.Authentication;

            // The same code covers the daily allocation ("TotalRequests Limit exceeded.") and the
            // concurrency caps ("ConcurrentRequests ... Limit exceeded."); only the latter clears in seconds.
            case "REQUEST_LIMIT_EXCEEDED":
                return message.Contains("Concurrent", StringComparison.OrdinalIgnoreCase)
                    ? SalesforceErrorKind.Transient
                    : SalesforceErrorKind.LimitExceeded;

            case "UNABLE_TO_LOCK_ROW":
            case "SERVER_UNAVAILABLE":
            case "QUERY_TIMEOUT":
            case "UNKNOWN_EXCEPTION":
            case "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE":
            case "ALL_OR_NONE_OPERATION_ROLLED_BACK":
                return SalesforceErrorKind.Transient;

            // A trigger or flow failed; only lock contention and governor limits inside it are worth another try.
            case "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY":
                return message.Contains("UNABLE_TO_LOCK_ROW", StringComparison.Ordinal)
                    || message.Contains("Too many SOQL queries", StringComparison.OrdinalIgnoreCase)
                    ? SalesforceErrorKind.Transient
                    : SalesforceErrorKind.Permanent;

            case "CANNOT_UPDATE_CONVERTED_LEAD":
            case "ENTITY_IS_DELETED":
                return SalesforceErrorKind.NeedsRedirect;
        }

        return status switch
        {
            401 => SalesforceErrorKind.Authentication,
            408 or 429 or >= 500 => SalesforceErrorKind.Transient,
            _ => SalesforceErrorKind.Permanent,
        };
    }

    /// <summary>Classifies a whole error response by its first error.</summary>
    public static SalesforceErrorKind Classify(int status, IReadOnlyList<SalesforceError> errors)
    {
        return errors.Count == 0
            ? Classify(status, null, null)
            : Classify(status, errors[0].ErrorCode, errors[0].Message);
    }

    /// <summary>
    /// Parses Salesforce's error array. Bodies that are not one (HTML from Salesforce Edge on 502/503,
    /// empty bodies, proxies) become a single <c>HTTP_{status}</c> error with a short summary, never the raw page.
    /// </summary>
    public static IReadOnlyList<SalesforceError> Parse(int status, string? body)
    {
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var errors = new List<SalesforceError>();
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in root.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object)
                        {
                            errors.Add(ReadError(item));
                        }
                    }
                }
                else if (root.ValueKind == JsonValueKind.Object)
                {
                    errors.Add(ReadError(root));
                }

                if (errors.Count > 0)
                {
                    return errors;
                }
            }
            catch (JsonException)
            {
                // Not JSON; summarised below.
            }
        }

        return [new SalesforceError($"HTTP_{status}", SalesforceMessageScrubber.Scrub(Summarize(status, body)), [])];
    }

    /// <summary>Reads an error response into the exception callers see.</summary>
    public static async Task<SalesforceApiException> ToExceptionAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var errors = Parse(status, body);
        var kind = Classify(status, errors);
        var first = errors[0];
        var message = kind == SalesforceErrorKind.LimitExceeded
            ? $"Salesforce {operation} failed: the org's daily API request limit is exhausted ({first.ErrorCode}: {first.Message}). Work should resume when the rolling 24-hour usage drops."
            : $"Salesforce {operation} failed with HTTP {status} {first.ErrorCode}: {first.Message}";
        return new SalesforceApiException(message, kind, response.StatusCode, errors);
    }

    /// <summary>
    /// Whether an error response is worth another attempt. Reads (and buffers) the body because
    /// UNABLE_TO_LOCK_ROW arrives as 400 or 500 and REQUEST_LIMIT_EXCEEDED has a retryable and a fatal form.
    /// </summary>
    public static async ValueTask<bool> IsTransientAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status < 400 || status == 401)
        {
            return false;
        }

        // Only the statuses that can carry a transient error code are worth reading.
        if (status is not (400 or 403 or 408 or 429) && status < 500)
        {
            return false;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return Classify(status, Parse(status, body)) == SalesforceErrorKind.Transient;
    }

    private static SalesforceError ReadError(JsonElement item)
    {
        var code = GetString(item, "errorCode") ?? GetString(item, "statusCode") ?? GetString(item, "error") ?? "UNKNOWN_ERROR";
        var message = GetString(item, "message") ?? GetString(item, "error_description") ?? string.Empty;
        var fields = new List<string>();
        if (item.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Array)
        {
            foreach (var field in f.EnumerateArray())
            {
                if (field.ValueKind == JsonValueKind.String)
                {
                    fields.Add(field.GetString()!);
                }
            }
        }

        return new SalesforceError(code, SalesforceMessageScrubber.Scrub(message), fields);
    }

    private static string? GetString(JsonElement item, string name)
    {
        return item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    private static string Summarize(int status, string? body)
    {
        var reason = Enum.IsDefined(typeof(HttpStatusCode), status) ? ((HttpStatusCode)status).ToString() : "error";
        if (string.IsNullOrWhiteSpace(body))
        {
            return $"{reason} (empty response body)";
        }

        var title = TitlePattern().Match(body);
        return title.Success
            ? $"{reason} (non-JSON response: {title.Groups[1].Value.Trim()})"
            : $"{reason} (non-JSON response)";
    }

    [GeneratedRegex("<title>([^<]{1,200})</title>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TitlePattern();
}
