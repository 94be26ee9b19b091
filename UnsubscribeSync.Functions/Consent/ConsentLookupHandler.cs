using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Http;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Consent;

/// <summary><c>GET /api/consent/{email}</c>: an address's consent, its linked Salesforce records and its audit trail.</summary>
public sealed partial class ConsentLookupHandler(ConsentAccess access, ILedgerStore ledger, IAuditLog audit, ILogger<ConsentLookupHandler> logger)
{
    /// <summary>Most audit entries one answer carries; an address with more says so (<c>auditTruncated</c>).</summary>
    public const int MaxAuditEntries = 1000;

    /// <summary>How long a caller should wait before retrying when storage is down.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(30);

    public async Task<IResult> HandleAsync(HttpRequest request, string address, CancellationToken cancellationToken)
    {
        if (access.Check(request) is { } refused)
        {
            return refused;
        }

        if (!TryKey(address, out var key, out var error))
        {
            return Problems.Status(StatusCodes.Status400BadRequest, "validation", "The address is not valid.", $"email {error}.", "email");
        }

        try
        {
            var record = await ledger.GetAsync(key, cancellationToken);
            if (record is null)
            {
                Log.Answered(logger, key[..12], StatusCodes.Status404NotFound);
                return Problems.Status(StatusCodes.Status404NotFound, "not-found", "The address is not in the ledger.",
                    "No event and no Salesforce record has told us about this address.");
            }

            var entries = new List<AuditEntity>();
            await foreach (var entry in audit.ReadAsync(key, cancellationToken))
            {
                if (entries.Count == MaxAuditEntries)
                {
                    break;
                }

                entries.Add(entry);
            }

            var truncated = entries.Count == MaxAuditEntries;
            Log.Answered(logger, key[..12], StatusCodes.Status200OK);
            return ConsentResult.Json(ConsentView.From(record, entries, truncated));
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            Log.StorageUnavailable(logger, ex);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage is temporarily unavailable.",
                "Ask again after the Retry-After delay.", retryAfter: RetryAfter);
        }
    }

    /// <summary>
    /// The ledger key of the path segment: an address (normalized as the ledger does), or the key itself (64 hex
    /// characters: the SHA-256 of the trimmed, lower-cased address) for callers that keep addresses out of URLs.
    /// </summary>
    public static bool TryKey(string? segment, out string key, out string? error)
    {
        var value = segment?.Trim() ?? string.Empty;
        if (value.Length == 64 && value.All(char.IsAsciiHexDigit))
        {
            key = value.ToLowerInvariant();
            error = null;
            return true;
        }

        if (EmailAddress.TryCreate(value, out var email, out error))
        {
            key = email.Key;
            return true;
        }

        key = string.Empty;
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "Consent lookup for address {AddressId} answered {StatusCode}")]
        public static partial void Answered(ILogger logger, string addressId, int statusCode);

        [LoggerMessage(EventId = 611, Level = LogLevel.Error, Message = "Consent lookup failed: storage is unavailable; answered 503")]
        public static partial void StorageUnavailable(ILogger logger, Exception exception);
    }
}
