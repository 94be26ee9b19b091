using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Http;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>The webhook's HTTP contract: limits, media type, signature, parsing, and the mapping of outcomes to responses.</summary>
public sealed partial class WebhookHandler(
    WebhookSignatureVerifier signatures,
    EventParser parser,
    IIntakeService intake,
    TimeProvider timeProvider,
    ILogger<WebhookHandler> logger)
{
    /// <summary>How long a caller should wait before retrying when storage is down.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(30);

    public async Task<IResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > WebhookOptions.MaxBodyBytes)
        {
            return TooLarge();
        }

        var media = MediaTypeOf(request.ContentType);
        if (media == Media.Other)
        {
            return UnsupportedMediaType();
        }

        ReadOnlyMemory<byte>? body;
        try
        {
            body = await ReadBodyAsync(request.Body, request.ContentLength, cancellationToken);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's answer to a body the client cut short (400), sent too slowly (408) or made too large (413):
            // the sender's fault, and no failed invocation of ours.
            if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge();
            }

            Log.Rejected(logger, ex.StatusCode);
            return Problems.Status(ex.StatusCode, "incomplete-body", "The request body did not arrive completely.",
                "The upload stopped or was too slow. Nothing was recorded; send the whole request again.", "body");
        }

        if (body is null)
        {
            return TooLarge();
        }

        // A sender that cannot choose its Content-Type (Marketo Engage documents none) must not lose a JSON body to a
        // 415 it will never retry: under a type that says nothing about the body, a JSON object is read as one.
        if (media == Media.Unspecified)
        {
            if (!LooksLikeJsonObject(body.Value.Span))
            {
                return UnsupportedMediaType();
            }

            Log.ReadAsJson(logger, request.ContentType ?? "(none)");
        }

        if (signatures.Verify(request.Headers[WebhookSignatureVerifier.HeaderName].ToString(), body.Value.Span) is { } signatureProblem)
        {
            Log.Rejected(logger, StatusCodes.Status401Unauthorized);
            return Problem(WebhookProblem.Signature, "The request signature is not valid.", signatureProblem, WebhookSignatureVerifier.HeaderName);
        }

        if (body.Value.Length == 0)
        {
            Log.Rejected(logger, StatusCodes.Status400BadRequest);
            return Problem(WebhookProblem.Validation, "The request body is empty.", "Send one event object, or {\"unsubscribes\": [...]}.", "body");
        }

        var parsed = parser.Parse(body.Value);
        if (parsed.Events.Count == 0)
        {
            Log.Rejected(logger, StatusCodes.Status400BadRequest);
            return Problems.Validation(parsed.Errors);
        }

        try
        {
            var outcome = await intake.AcceptAsync(parsed.Events, cancellationToken);
            if (outcome.InProgress.Count > 0)
            {
                // A 202 says every listed event is in the ledger and queued; these are not yet, so the caller comes back
                // when the other attempt's claim has lapsed (at most IntakeRecords.InProgressWindow), as for a 503 of storage.
                return Problem(WebhookProblem.InProgress, "Some events are being recorded by another attempt.",
                    $"{outcome.InProgress.Count} of the events are held unfinished by another delivery of them (at work now, or stopped without finishing). " +
                    "Nothing was lost. Send the same request again after the Retry-After delay; events already recorded are reported as duplicates.",
                    retryAfter: InProgressRetryAfter(outcome.RetryAt));
            }

            if (parsed.Rejected.Count > 0 || parsed.Warnings.Count > 0)
            {
                Log.PartlyAccepted(logger, parsed.Rejected.Count, parsed.Warnings.Count);
            }

            // 202 even with rejected events: the recorded ones are safe, and a sender that saw a 4xx
            // would likely drop them all. The rejected list tells it what to fix.
            return Results.Json(
                new
                {
                    accepted = outcome.Accepted,
                    duplicates = outcome.Duplicates,
                    rejected = parsed.Rejected.Select(r => new { index = r.Index, id = r.Id, errors = r.Errors }),
                    warnings = parsed.Warnings.Select(w => new { index = w.Index, id = w.Id, field = w.Field, message = w.Message }),
                },
                statusCode: StatusCodes.Status202Accepted);
        }
        catch (StorageUnavailableException)
        {
            return Problem(WebhookProblem.StorageUnavailable, "Storage is temporarily unavailable.",
                "Nothing was lost. Send the same request again after the Retry-After delay; events already recorded are reported as duplicates.",
                retryAfter: RetryAfter);
        }
    }

    private TimeSpan InProgressRetryAfter(DateTimeOffset? retryAt)
    {
        // Whole seconds, rounded up and at least one, so the retry lands after the claim has lapsed rather than just before.
        var wait = (retryAt ?? timeProvider.GetUtcNow()) - timeProvider.GetUtcNow();
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, IntakeRecords.InProgressWindow.TotalSeconds));
    }

    // Every problem goes through here, so WebhookProblem lists all the handler can answer.
    private static IResult Problem(WebhookProblem problem, string title, string detail, string? field = null, TimeSpan? retryAfter = null) =>
        Problems.Status(problem.Status(), problem.Slug(), title, detail, field, retryAfter);

    private IResult TooLarge()
    {
        Log.Rejected(logger, StatusCodes.Status413PayloadTooLarge);
        return Problem(WebhookProblem.TooLarge, "The request body is too large.",
            $"The body must be at most {WebhookOptions.MaxBodyBytes} bytes; send at most {WebhookOptions.MaxEventsPerRequest} events per request.", "body");
    }

    private IResult UnsupportedMediaType()
    {
        Log.Rejected(logger, StatusCodes.Status415UnsupportedMediaType);
        return Problem(WebhookProblem.MediaType, "Unsupported media type.",
            "Send the events as JSON with Content-Type: application/json.", "Content-Type");
    }

    private enum Media
    {
        /// <summary><c>application/json</c> or <c>application/*+json</c>, in UTF-8.</summary>
        Json,

        /// <summary>No Content-Type, <c>text/plain</c> or <c>application/x-www-form-urlencoded</c>, in UTF-8: what a sender that cannot set a header sends.</summary>
        Unspecified,

        /// <summary>Anything else, or a charset other than UTF-8.</summary>
        Other,
    }

    private static Media MediaTypeOf(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return Media.Unspecified;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType is null)
        {
            return Media.Other;
        }

        if (media.CharSet is { Length: > 0 } charset && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return Media.Other;
        }

        var type = media.MediaType;
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            return Media.Json;
        }

        return type.Equals("text/plain", StringComparison.OrdinalIgnoreCase) || type.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            ? Media.Unspecified
            : Media.Other;
    }

    // A form-encoded or plain-text body never starts with '{'; a JSON object does, after an optional BOM and whitespace.
    private static bool LooksLikeJsonObject(ReadOnlySpan<byte> body)
    {
        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            body = body[3..];
        }

        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        return start >= 0 && body[start] == (byte)'{';
    }

    // Stops one byte past the limit, so a body without Content-Length cannot exhaust memory.
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>((int)Math.Clamp(contentLength ?? 4096, 1, WebhookOptions.MaxBodyBytes) + 1);
        int read;
        do
        {
            read = await body.ReadAsync(writer.GetMemory(), cancellationToken);
            writer.Advance(read);
        }
        while (read > 0 && writer.WrittenCount <= WebhookOptions.MaxBodyBytes);

        // Spelled out: a bare null would convert to an empty buffer through the byte[] conversion, not to "no body".
        return writer.WrittenCount > WebhookOptions.MaxBodyBytes ? (ReadOnlyMemory<byte>?)null : writer.WrittenMemory;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Webhook request rejected with status {StatusCode}")]
        public static partial void Rejected(ILogger logger, int statusCode);

        [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Webhook request recorded with {RejectedCount} events rejected and {WarningCount} field warnings")]
        public static partial void PartlyAccepted(ILogger logger, int rejectedCount, int warningCount);

        [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "Webhook body sent as {ContentType} is a JSON object and was read as JSON")]
        public static partial void ReadAsJson(ILogger logger, string contentType);
    }
}
