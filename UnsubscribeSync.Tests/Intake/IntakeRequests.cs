using Microsoft.AspNetCore.Http;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>Webhook requests from raw bytes, for bodies a string cannot carry (invalid UTF-8, a BOM).</summary>
internal static class IntakeRequests
{
    public static HttpRequest Json(byte[] body, IDictionary<string, string>? headers = null)
    {
        var request = HttpTestExtensions.JsonRequest(string.Empty, headers: headers);
        request.Body = new MemoryStream(body);
        request.ContentLength = body.Length;
        return request;
    }
}
