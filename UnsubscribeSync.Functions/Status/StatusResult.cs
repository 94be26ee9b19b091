using Microsoft.AspNetCore.Http;

namespace UnsubscribeSync.Functions.Status;

/// <summary>An answer of the admin endpoints: never cached (it is live state, and may carry record counts an admin owns), with any extra headers.</summary>
internal sealed class StatusResult(IResult inner, IReadOnlyDictionary<string, string>? headers = null) : IResult, IStatusCodeHttpResult, IValueHttpResult
{
    public int? StatusCode => (inner as IStatusCodeHttpResult)?.StatusCode;

    public object? Value => (inner as IValueHttpResult)?.Value;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.CacheControl = "no-store";
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            httpContext.Response.Headers[name] = value;
        }

        return inner.ExecuteAsync(httpContext);
    }
}
