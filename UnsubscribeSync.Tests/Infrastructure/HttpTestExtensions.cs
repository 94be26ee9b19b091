using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>What an executed <see cref="IResult"/> wrote: status, headers and body, as the caller sees them.</summary>
public sealed record HttpOutcome(int Status, IHeaderDictionary Headers, string ContentType, string Body)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    /// <summary>The messages for one field of a problem's <c>errors</c> map.</summary>
    public IReadOnlyList<string> ErrorsFor(string field) =>
        Json["errors"]?[field]?.AsArray().Select(n => n!.GetValue<string>()).ToList() ?? [];

    public IReadOnlyList<string> ErrorFields =>
        Json["errors"]?.AsObject().Select(p => p.Key).ToList() ?? [];
}

/// <summary>Builds requests as the Functions ASP.NET Core integration hands them to a function, and runs results.</summary>
public static class HttpTestExtensions
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    public static HttpRequest JsonRequest(string body, string contentType = "application/json", IDictionary<string, string>? headers = null, bool sendContentLength = true)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.Method = "POST";
        context.Request.Path = "/api/unsubscribes";
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(bytes);
        if (sendContentLength)
        {
            context.Request.ContentLength = bytes.Length;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }

    /// <summary>A GET as the host hands it to a function: path, query string and headers.</summary>
    public static HttpRequest GetRequest(string path, IDictionary<string, string?>? query = null, IDictionary<string, string>? headers = null)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Request.QueryString = QueryString.Create((query ?? new Dictionary<string, string?>()).Where(q => q.Value is not null));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }

    public static async Task<HttpOutcome> ExecuteAsync(this IResult result)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteAsync(context);
        return new HttpOutcome(context.Response.StatusCode, context.Response.Headers, context.Response.ContentType ?? string.Empty, Encoding.UTF8.GetString(body.ToArray()));
    }

    public static string ToJson(object value) => JsonSerializer.Serialize(value, new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
