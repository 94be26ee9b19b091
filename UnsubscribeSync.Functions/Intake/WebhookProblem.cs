using Microsoft.AspNetCore.Http;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// Every problem the webhook answers with. The handler emits problems only through these, so the OpenAPI document's
/// test can walk them all: a new one without a documented response fails it.
/// </summary>
public enum WebhookProblem
{
    /// <summary>400: no event could be recorded, or the request as a whole is wrong.</summary>
    Validation,

    /// <summary>401: signatures are required and this one is missing, wrong or too old.</summary>
    Signature,

    /// <summary>413: the body is over <c>WebhookOptions.MaxBodyBytes</c>.</summary>
    TooLarge,

    /// <summary>415: neither JSON nor a JSON body under a type a sender may not be able to change.</summary>
    MediaType,

    /// <summary>503: storage is down; retry after <c>Retry-After</c>.</summary>
    StorageUnavailable,

    /// <summary>503: another attempt holds some of the events unfinished; retry after <c>Retry-After</c> (at most two minutes).</summary>
    InProgress,
}

/// <summary>The status and problem type (the last part of its URN) of each <see cref="WebhookProblem"/>.</summary>
public static class WebhookProblems
{
    public static int Status(this WebhookProblem problem) => problem switch
    {
        WebhookProblem.Validation => StatusCodes.Status400BadRequest,
        WebhookProblem.Signature => StatusCodes.Status401Unauthorized,
        WebhookProblem.TooLarge => StatusCodes.Status413PayloadTooLarge,
        WebhookProblem.MediaType => StatusCodes.Status415UnsupportedMediaType,
        WebhookProblem.StorageUnavailable => StatusCodes.Status503ServiceUnavailable,
        WebhookProblem.InProgress => StatusCodes.Status503ServiceUnavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, null),
    };

    /// <summary>The type as the problem's URN ends: <c>urn:unsubscribesync:problem:{slug}</c>.</summary>
    public static string Slug(this WebhookProblem problem) => problem switch
    {
        WebhookProblem.Validation => "validation",
        WebhookProblem.Signature => "signature",
        WebhookProblem.TooLarge => "too-large",
        WebhookProblem.MediaType => "media-type",
        WebhookProblem.StorageUnavailable => "storage-unavailable",
        WebhookProblem.InProgress => "in-progress",
        _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, null),
    };
}
