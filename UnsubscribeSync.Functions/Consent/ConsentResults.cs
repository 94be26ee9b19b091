using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>Responses of the consent API: personal data, so never stored by a cache; paging in headers as well as the body.</summary>
internal sealed class ConsentResult(IResult inner, IReadOnlyDictionary<string, string>? headers = null) : IResult, IStatusCodeHttpResult, IValueHttpResult
{
    public const string NextCursorHeader = "X-Next-Cursor";
    public const string HasMoreHeader = "X-Has-More";

    public int? StatusCode => (inner as IStatusCodeHttpResult)?.StatusCode;

    public object? Value => (inner as IValueHttpResult)?.Value;

    public static ConsentResult Json<T>(T value, IReadOnlyDictionary<string, string>? headers = null) => new(TypedResults.Json(value), headers);

    public static ConsentResult Csv(string csv, IReadOnlyDictionary<string, string> headers) =>
        new(TypedResults.Text(csv, ConsentCsv.ContentType, Encoding.UTF8), headers);

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
