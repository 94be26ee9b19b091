using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace UnsubscribeSync.Tests.Salesforce;

/// <summary>A request as the stub saw it; the body is read at send time, before the request is disposed.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, string? Authorization, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>Answers HTTP requests from a delegate and records them; stands in for Salesforce in unit tests.</summary>
internal sealed class StubHttpMessageHandler(Func<HttpRequestMessage, string, HttpResponseMessage> respond) : HttpMessageHandler
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Holds every request until released, to make concurrent callers overlap.</summary>
    public Func<CancellationToken, Task>? BeforeRespond { get; set; }

    public IReadOnlyList<RecordedRequest> RequestsTo(string pathPart) =>
        [.. _requests.Where(r => r.Uri.AbsolutePath.Contains(pathPart, StringComparison.Ordinal))];

    public static HttpResponseMessage Json(HttpStatusCode status, string body, string? limitInfo = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (limitInfo is not null)
        {
            response.Headers.TryAddWithoutValidation("Sforce-Limit-Info", limitInfo);
        }

        return response;
    }

    public static HttpResponseMessage Html(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "text/html") };

    public static HttpResponseMessage NoContent() => new(HttpStatusCode.NoContent);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        _requests.Enqueue(new RecordedRequest(request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), headers, body));
        if (BeforeRespond is not null)
        {
            await BeforeRespond(cancellationToken);
        }

        var response = respond(request, body);
        response.RequestMessage ??= request;
        return response;
    }
}

/// <summary>An <see cref="IHttpClientFactory"/> whose clients all send through one stub handler.</summary>
internal sealed class StubHttpClientFactory(HttpMessageHandler handler) : IHttpClientFactory
{
    public int Created { get; private set; }

    public HttpClient CreateClient(string name)
    {
        Created++;
        return new HttpClient(handler, disposeHandler: false);
    }
}
