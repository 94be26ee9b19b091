using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>A notification the receiver did not accept: its HTTP status (the body is the receiver's and is not kept).</summary>
public sealed class NotificationRejectedException(int statusCode)
    : Exception($"The notification receiver answered HTTP {statusCode}.")
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// The typed client for <c>Notify__Url</c>: one signed POST per notification. Retries, timeouts and the circuit breaker
/// come from the standard resilience handler registered with it; what they cannot fix is thrown, so the queue retries.
/// </summary>
public sealed class NotificationClient(HttpClient http, IOptions<NotifyOptions> options, TimeProvider timeProvider)
{
    public const string SequenceHeader = "X-UnsubscribeSync-Sequence";

    /// <summary>Posts <paramref name="body"/>; returns only when the receiver answered 2xx.</summary>
    /// <exception cref="NotificationRejectedException">The receiver answered with another status.</exception>
    public async Task PostAsync(long sequence, byte[] body, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(NotifyOptions.SignatureHeader, NotificationSignature.Create(settings.SigningSecret!, timeProvider.GetUtcNow(), body));
        request.Headers.Add(SequenceHeader, sequence.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new NotificationRejectedException((int)response.StatusCode);
        }
    }
}
