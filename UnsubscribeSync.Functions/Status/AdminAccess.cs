using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Http;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// The admin endpoints' own key check, on top of the function key the host checks: the same pattern as the consent API's
/// <c>X-Consent-Key</c>, with a key of its own (<c>Admin__ApiKey</c>) so a sender holding the consent key cannot read the
/// admin's view. Without a configured key the endpoints are switched off.
/// </summary>
public sealed partial class AdminAccess(IOptions<AdminOptions> options, ILogger<AdminAccess> logger)
{
    /// <summary>Null when the request may proceed, else the problem to answer with.</summary>
    /// <param name="request">The request.</param>
    /// <param name="allowQueryKey">Also accept the key as <c>?key=</c> (the status page only; see docs/status.md for the risk).</param>
    public IResult? Check(HttpRequest request, bool allowQueryKey = false)
    {
        var settings = options.Value;
        if (!settings.IsEnabled)
        {
            Log.Disabled(logger);
            return Problems.Status(StatusCodes.Status404NotFound, "admin-api-disabled", "The admin endpoints are switched off.",
                "Set Admin__ApiKey to switch them on; see docs/status.md.");
        }

        var presented = request.Headers[AdminOptions.KeyHeader].ToString();
        if (presented.Length == 0 && allowQueryKey)
        {
            presented = request.Query[AdminOptions.KeyQuery].ToString();
        }

        if (presented.Length == 0)
        {
            Log.Refused(logger, "missing");
            return Problems.Status(StatusCodes.Status401Unauthorized, "admin-key", "An admin key is required.",
                $"Send the admin key in the {AdminOptions.KeyHeader} header (the function key alone is not enough).", AdminOptions.KeyHeader);
        }

        if (!ApiKeys.IsCurrentOrPrevious(presented, settings.ApiKey, settings.PreviousApiKey))
        {
            Log.Refused(logger, "wrong");
            return Problems.Status(StatusCodes.Status401Unauthorized, "admin-key", "The admin key is not valid.",
                $"The {AdminOptions.KeyHeader} header does not hold the current admin key.", AdminOptions.KeyHeader);
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Admin request refused: the admin endpoints are switched off (Admin:ApiKey is not set)")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "Admin request refused: the admin key was {Problem}")]
        public static partial void Refused(ILogger logger, string problem);
    }
}
