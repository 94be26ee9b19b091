using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using UnsubscribeSync.SalesforceSandbox.Auth;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Endpoints;

/// <summary>
/// <c>POST /services/oauth2/token</c>: client credentials (body or Basic header), JWT bearer and a
/// minimal refresh_token grant. Success bodies carry no <c>expires_in</c>, as Salesforce's do.
/// </summary>
public static class TokenEndpoints
{
    private const string JwtGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    public static void MapTokenEndpoints(this IEndpointRouteBuilder app) =>
        app.MapPost("/services/oauth2/token", IssueAsync);

    private static async Task<IResult> IssueAsync(
        HttpContext context, SandboxState state, TokenStore tokens, JwtAssertionValidator jwt, FaultInjector faults, ApiStats stats)
    {
        stats.Count(ApiKind.Token);
        if (faults.LatencyMs > 0)
        {
            await Task.Delay(faults.LatencyMs, context.RequestAborted);
        }

        context.Response.Headers.CacheControl = "no-store";
        if (faults.TakeForCall(ApiKind.Token) is { } fault)
        {
            return OAuthError(fault.ErrorCode, fault.Message, fault.Status);
        }

        if (!context.Request.HasFormContentType)
        {
            return OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var settings = state.Settings;
        var (clientId, clientSecret) = ClientCredentials(context.Request, form);
        var baseUrl = $"{context.Request.Scheme}://{context.Request.Host}";
        switch (form["grant_type"].ToString())
        {
            case "client_credentials":
                if (clientId != settings.ClientId)
                {
                    return OAuthError("invalid_client_id", "client identifier invalid");
                }

                if (clientSecret != settings.ClientSecret)
                {
                    return OAuthError("invalid_client", "invalid client credentials");
                }

                break;
            case JwtGrant:
                if (jwt.Validate(form["assertion"].ToString(), baseUrl) is { } problem)
                {
                    return OAuthError(problem.Error, problem.Description);
                }

                break;
            case "refresh_token":
                if (clientId != settings.ClientId)
                {
                    return OAuthError("invalid_client_id", "client identifier invalid");
                }

                if (form["refresh_token"].ToString() != settings.RefreshToken)
                {
                    return OAuthError("invalid_grant", "expired access/refresh token");
                }

                break;
            case "":
                return OAuthError("invalid_request", "grant type not specified");
            default:
                return OAuthError("unsupported_grant_type", "grant type not supported");
        }

        var (token, issuedAt) = tokens.Issue();
        var identity = $"{baseUrl}/id/{TokenStore.OrgId15}AAA/005SB0000000001AAA";
        var issuedAtText = issuedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(settings.ClientSecret), Encoding.UTF8.GetBytes(identity + issuedAtText)));
        return SalesforceJson.Json(new JsonObject
        {
            ["access_token"] = token,
            ["signature"] = signature,
            ["scope"] = "api",
            ["instance_url"] = baseUrl,
            ["id"] = identity,
            ["token_type"] = "Bearer",
            ["issued_at"] = issuedAtText,
            ["token_format"] = "opaque",
        });
    }

    private static (string? Id, string? Secret) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]));
                }
            }
            catch (FormatException)
            {
                return (null, null);
            }
        }

        return (form["client_id"].FirstOrDefault(), form["client_secret"].FirstOrDefault());
    }

    private static IResult OAuthError(string error, string description, int status = StatusCodes.Status400BadRequest) =>
        SalesforceJson.Json(new JsonObject { ["error"] = error, ["error_description"] = description }, status);
}
