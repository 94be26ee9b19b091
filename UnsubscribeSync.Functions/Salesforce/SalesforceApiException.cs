using System.Net;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>What the caller should do about a Salesforce error.</summary>
public enum SalesforceErrorKind
{
    /// <summary>Worth retrying later: lock contention, maintenance, overload, timeouts, 5xx.</summary>
    Transient,

    /// <summary>Retrying will not help: validation, bad Id, missing field, access rights.</summary>
    Permanent,

    /// <summary>The org's rolling 24-hour API allocation is used up: stop and resume later.</summary>
    LimitExceeded,

    /// <summary>The record moved on: a converted Lead (follow ConvertedContactId) or a merged/deleted record (follow MasterRecordId).</summary>
    NeedsRedirect,

    /// <summary>Sign-in failed or the session is unusable; usually a configuration problem.</summary>
    Authentication,
}

/// <summary>One entry of Salesforce's error array (<c>errorCode</c>, or <c>statusCode</c> in collection results).</summary>
/// <param name="ErrorCode">Salesforce's error code, e.g. <c>MALFORMED_ID</c>; <c>HTTP_{status}</c> for a body that was not Salesforce JSON.</param>
/// <param name="Message">Salesforce's message.</param>
/// <param name="Fields">The fields the error is about, when Salesforce names them.</param>
public sealed record SalesforceError(string ErrorCode, string Message, IReadOnlyList<string> Fields);

/// <summary>
/// Any failed Salesforce call: an error response after retries, a token endpoint refusal, an open
/// circuit or a timeout. <see cref="Kind"/> tells the caller whether to retry, stop, redirect or fix
/// configuration. Its message is scrubbed of email addresses, whoever builds it, because it is logged and stored.
/// </summary>
public sealed class SalesforceApiException : Exception
{
    public SalesforceApiException(
        string message,
        SalesforceErrorKind kind,
        HttpStatusCode? statusCode = null,
        IReadOnlyList<SalesforceError>? errors = null,
        string? setting = null,
        Exception? innerException = null)
        : base(SalesforceMessageScrubber.Scrub(message), innerException)
    {
        Kind = kind;
        StatusCode = statusCode;
        Errors = errors ?? [];
        Setting = setting;
    }

    /// <summary>Whether and how to retry.</summary>
    public SalesforceErrorKind Kind { get; }

    /// <summary>The HTTP status, when a response was received.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Every error Salesforce returned; usually one.</summary>
    public IReadOnlyList<SalesforceError> Errors { get; }

    /// <summary>The first error's code, e.g. <c>CANNOT_UPDATE_CONVERTED_LEAD</c>.</summary>
    public string? ErrorCode => Errors.Count > 0 ? Errors[0].ErrorCode : null;

    /// <summary>The fields Salesforce named, across all errors.</summary>
    public IReadOnlyList<string> Fields => [.. Errors.SelectMany(e => e.Fields).Distinct(StringComparer.Ordinal)];

    /// <summary>The app setting to fix (e.g. <c>Salesforce:ClientSecret</c>) when the error is a configuration problem.</summary>
    public string? Setting { get; }

    /// <summary>True for <see cref="SalesforceErrorKind.Transient"/>.</summary>
    public bool IsTransient => Kind == SalesforceErrorKind.Transient;
}
