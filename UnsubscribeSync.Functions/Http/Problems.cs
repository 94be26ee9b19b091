using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace UnsubscribeSync.Functions.Http;

/// <summary>
/// RFC 9457 problem responses (<c>application/problem+json</c>). The <c>type</c> URIs are stable
/// identifiers documented in the README, so callers can branch on them.
/// </summary>
public static class Problems
{
    // URNs, not links: they identify a kind of problem whatever host the app runs on (RFC 9457 allows any URI).
    private const string TypeBase = "urn:unsubscribesync:problem:";

    public static IResult Validation(IReadOnlyDictionary<string, string[]> errors, string? detail = null) => new ProblemResult(
        new ValidationProblemDetails(errors.ToDictionary(e => e.Key, e => e.Value))
        {
            Status = StatusCodes.Status400BadRequest,
            Type = TypeBase + "validation",
            Title = "The request has invalid fields.",
            Detail = detail ?? "No event in this request was recorded; fix the fields named in 'errors' and send it again.",
        });

    public static IResult Status(int status, string type, string title, string detail, string? field = null, TimeSpan? retryAfter = null)
    {
        ProblemDetails problem = field is null
            ? new ProblemDetails()
            : new ValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] });
        problem.Status = status;
        problem.Type = TypeBase + type;
        problem.Title = title;
        problem.Detail = detail;
        return new ProblemResult(problem, retryAfter);
    }

    /// <summary>Writes a problem with the right media type, and <c>Retry-After</c> when asked.</summary>
    private sealed class ProblemResult(ProblemDetails problem, TimeSpan? retryAfter = null) : IResult, IStatusCodeHttpResult, IValueHttpResult
    {
        public int? StatusCode => problem.Status;

        public object? Value => problem;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (retryAfter is { } delay)
            {
                httpContext.Response.Headers.RetryAfter = ((int)delay.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.Json(problem, contentType: "application/problem+json", statusCode: problem.Status).ExecuteAsync(httpContext);
        }
    }
}
