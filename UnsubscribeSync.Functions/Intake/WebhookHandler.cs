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

        if (!IsJson(request.ContentType))
        {
            Log.Rejected(logger, StatusCodes.Status415UnsupportedMediaType);
            return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "media-type", "Unsupported media type.",
                "Send the events as JSON with Content-Type: application/json.", "Content-Type");
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

        if (signatures.Verify(request.Headers[WebhookSignatureVerifier.HeaderName].ToString(), body.Value.Span) is { } signatureProblem)
        {
            Log.Rejected(logger, StatusCodes.Status401Unauthorized);
            return Problems.Status(StatusCodes.Status401Unauthorized, "signature", "The request signature is not valid.",
                signatureProblem, WebhookSignatureVerifier.HeaderName);
        }

        if (body.Value.Length == 0)
        {
            Log.Rejected(logger, StatusCodes.Status400BadRequest);
            return Problems.Status(StatusCodes.Status400BadRequest, "validation", "The request body is empty.",
                "Send one event object, or {\"unsubscribes\": [...]}.", "body");
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
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage is temporarily unavailable.",
                "Nothing was lost. Send the same request again after the Retry-After delay; events already recorded are reported as duplicates.",
                retryAfter: RetryAfter);
        }
    }

    private IResult TooLarge()
    {
        Log.Rejected(logger, StatusCodes.Status413PayloadTooLarge);
        return Problems.Status(StatusCodes.Status413PayloadTooLarge, "too-large", "The request body is too large.",
            $"The body must be at most {WebhookOptions.MaxBodyBytes} bytes; send at most {WebhookOptions.MaxEventsPerRequest} events per request.", "body");
    }

    private static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType is null)
        {
            return false;
        }

        if (media.CharSet is { Length: > 0 } charset && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.MediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
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
    }
}
