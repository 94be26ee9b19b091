using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Http;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// The consent API's own key check, on top of the function key the host checks. A host key opens every function (the
/// webhook's callers may hold one), and these endpoints return personal data, so they also demand
/// <see cref="ConsentOptions.KeyHeader"/> with <c>Consent__ApiKey</c>. Without a configured key they are switched off.
/// </summary>
public sealed partial class ConsentAccess(IOptions<ConsentOptions> options, ILogger<ConsentAccess> logger)
{
    /// <summary>Null when the request may proceed, else the problem to answer with.</summary>
    public IResult? Check(HttpRequest request)
    {
        var settings = options.Value;
        if (!settings.IsEnabled)
        {
            Log.Disabled(logger);
            return Problems.Status(StatusCodes.Status404NotFound, "consent-api-disabled", "The consent API is switched off.",
                "Set Consent__ApiKey to switch it on; see the README's consent API section.");
        }

        var presented = request.Headers[ConsentOptions.KeyHeader].ToString();
        if (presented.Length == 0)
        {
            Log.Refused(logger, "missing");
            return Problems.Status(StatusCodes.Status401Unauthorized, "consent-key", "A consent API key is required.",
                $"Send the consent API key in the {ConsentOptions.KeyHeader} header (the function key alone is not enough).", ConsentOptions.KeyHeader);
        }

        if (!ApiKeys.IsCurrentOrPrevious(presented, settings.ApiKey, settings.PreviousApiKey))
        {
            Log.Refused(logger, "wrong");
            return Problems.Status(StatusCodes.Status401Unauthorized, "consent-key", "The consent API key is not valid.",
                $"The {ConsentOptions.KeyHeader} header does not hold the current consent API key.", ConsentOptions.KeyHeader);
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Consent API request refused: the API is switched off (Consent:ApiKey is not set)")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Consent API request refused: the consent key was {Problem}")]
        public static partial void Refused(ILogger logger, string problem);
    }
}
