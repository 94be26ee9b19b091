using Microsoft.Extensions.Logging;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Log messages of the Salesforce client (event ids 300-349). They carry URLs without query strings
/// (SOQL can hold email addresses), Salesforce error codes and setting names, never tokens or secrets.
/// </summary>
internal static partial class SalesforceLog
{
    /// <summary>Scheme, host and path only: query strings carry SOQL, which may contain addresses.</summary>
    public static string SafeUrl(Uri? uri)
    {
        if (uri is null)
        {
            return string.Empty;
        }

        return uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.OriginalString.Split('?', 2)[0];
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Signed in to Salesforce with the {Flow} flow; API instance {InstanceHost}")]
    public static partial void TokenObtained(ILogger logger, string flow, string instanceHost);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Salesforce token request with the {Flow} flow failed with HTTP {StatusCode} {ErrorCode}; setting to check: {Setting}")]
    public static partial void TokenRequestFailed(ILogger logger, string flow, int statusCode, string errorCode, string setting);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Salesforce session expired on {Method} {Url}; signing in again and replaying once")]
    public static partial void SessionExpired(ILogger logger, string method, string url);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Salesforce call {Method} {Url} attempt {Attempt} failed ({Outcome}); retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string method, string url, int attempt, string outcome, double delayMs);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Salesforce circuit opened for {BreakSeconds} s after repeated failures ({Outcome})")]
    public static partial void CircuitOpened(ILogger logger, double breakSeconds, string outcome);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Salesforce circuit closed; calls flow again")]
    public static partial void CircuitClosed(ILogger logger);

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "Salesforce {Method} {Url} failed with HTTP {StatusCode} {ErrorCode} ({Kind})")]
    public static partial void RequestFailed(ILogger logger, string method, string url, int statusCode, string errorCode, SalesforceErrorKind kind);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "Salesforce daily API limit exhausted on {Method} {Url}; used {Used} of {Limit}")]
    public static partial void DailyLimitExhausted(ILogger logger, string method, string url, long used, long limit);

    [LoggerMessage(EventId = 308, Level = LogLevel.Warning, Message = "Opt-out field check found problems: {Problems}")]
    public static partial void OptOutFieldProblems(ILogger logger, string problems);

    [LoggerMessage(EventId = 309, Level = LogLevel.Information, Message = "Opt-out field resolved: Contact {ContactField}, Lead {LeadField}")]
    public static partial void OptOutFieldResolved(ILogger logger, string contactField, string leadField);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Person Accounts found: opt-outs on them go to Account.{Field}, and the nightly sync reads Accounts where IsPersonAccount = true by PersonEmail")]
    public static partial void PersonAccountsFound(ILogger logger, string field);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "No Person Accounts: {Reason}. Person-account work is skipped, and an event naming an Account (001) Id is blocked with this reason")]
    public static partial void PersonAccountsAbsent(ILogger logger, string reason);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "The kept describe of {SObject} could not be {Action} ({Error}); the field check describes as if none were kept")]
    public static partial void KeptDescribeUnavailable(ILogger logger, string sObject, string action, string error);

    [LoggerMessage(EventId = 313, Level = LogLevel.Information, Message = "Field check of {SObject}: {Source}")]
    public static partial void FieldCheckSource(ILogger logger, string sObject, string source);
}
