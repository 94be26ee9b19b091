using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace UnsubscribeSync.Functions.Status;

/// <summary><c>GET /api/status</c> (JSON) and <c>GET /api/status/page</c> (HTML): the administrator's view, behind the admin key.</summary>
public sealed class StatusHandler(AdminAccess access, StatusService status)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private static readonly Dictionary<string, string> PageHeaders = new()
    {
        ["Referrer-Policy"] = "no-referrer",
        ["X-Content-Type-Options"] = "nosniff",
        ["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    };

    public async Task<IResult> GetJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (access.Check(request) is { } refused)
        {
            return refused;
        }

        var report = await status.BuildAsync(cancellationToken);
        return new StatusResult(Results.Json(report, Json));
    }

    public async Task<IResult> GetPageAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (access.Check(request, allowQueryKey: true) is { } refused)
        {
            return refused;
        }

        var report = await status.BuildAsync(cancellationToken);

        // The key may be in the URL: never send it on as a referrer. No script runs, nothing is fetched.
        return new StatusResult(Results.Content(StatusPage.Render(report), "text/html; charset=utf-8"), PageHeaders);
    }
}
