using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Signs every API request with the shared access token and sends it to the token's instance. A 401
/// means the session ended (Salesforce never says when it will): the token is replaced once and the
/// request replayed once; a second 401 goes back to the caller as an authentication failure.
/// </summary>
internal sealed class SalesforceAuthenticationHandler(
    ISalesforceTokenProvider tokens,
    ILogger<SalesforceAuthenticationHandler> logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        Sign(request, token);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !await IsExpiredSessionAsync(response, cancellationToken).ConfigureAwait(false))
        {
            return response;
        }

        SalesforceLog.SessionExpired(logger, request.Method.Method, SalesforceLog.SafeUrl(request.RequestUri));
        response.Dispose();
        tokens.Invalidate(token);
        token = await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
        Sign(request, token);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static void Sign(HttpRequestMessage request, SalesforceToken token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);

        // The client addresses requests to the login URL; the API lives on the token's instance.
        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            request.RequestUri = new Uri(token.InstanceUrl, uri.PathAndQuery);
        }
    }

    /// <summary>
    /// These 401s are about scopes or the app, not an expired session; a new token would get the
    /// same answer, so it is not fetched (as jsforce does).
    /// </summary>
    private static async Task<bool> IsExpiredSessionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return !body.Contains("not valid for use with the REST API", StringComparison.OrdinalIgnoreCase)
            && !body.Contains("Connected app is not attached", StringComparison.OrdinalIgnoreCase);
    }
}
