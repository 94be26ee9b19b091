using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Auth;

/// <summary>
/// Checks a JWT bearer assertion as Salesforce does: RS256 signed by the connected app's key,
/// <c>iss</c> = consumer key, <c>sub</c> = the integration user, an accepted <c>aud</c>, and an
/// <c>exp</c> that is neither past nor more than about three minutes away.
/// </summary>
public sealed class JwtAssertionValidator(SandboxState state, SandboxClock clock)
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(30);

    /// <summary>Null when valid; otherwise the OAuth <c>(error, error_description)</c> pair.</summary>
    public (string Error, string Description)? Validate(string? assertion, string ownAudience)
    {
        var settings = state.Settings;
        using var key = LoadKey(settings.JwtPublicKey);
        if (key is null)
        {
            return ("invalid_grant", "invalid assertion");
        }

        var parts = assertion?.Split('.') ?? [];
        if (parts.Length != 3)
        {
            return ("invalid_grant", "invalid assertion");
        }

        JsonElement header;
        JsonElement claims;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(Base64UrlDecode(parts[0])).RootElement;
            claims = JsonDocument.Parse(Base64UrlDecode(parts[1])).RootElement;
            signature = Base64UrlDecode(parts[2]);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return ("invalid_grant", "invalid assertion");
        }

        if (!header.TryGetProperty("alg", out var alg) || alg.GetString() != "RS256"
            || !key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return ("invalid_grant", "invalid assertion");
        }

        if (Text(claims, "iss") != settings.ClientId)
        {
            return ("invalid_client_id", "client identifier invalid");
        }

        // Salesforce takes the legacy prn claim over sub when both are present.
        var subject = Text(claims, "prn") ?? Text(claims, "sub");
        if (!string.Equals(subject, settings.JwtUsername, StringComparison.OrdinalIgnoreCase))
        {
            return ("invalid_grant", "user hasn't approved this consumer");
        }

        var audiences = claims.TryGetProperty("aud", out var aud) && aud.ValueKind == JsonValueKind.Array
            ? aud.EnumerateArray().Select(a => a.GetString()).ToList()
            : [Text(claims, "aud")];
        var accepted = settings.JwtAudiences.Append(ownAudience).Select(a => a.TrimEnd('/'));
        if (!audiences.Any(a => a is not null && accepted.Contains(a.TrimEnd('/'), StringComparer.OrdinalIgnoreCase)))
        {
            return ("invalid_grant", "audience is invalid");
        }

        if (!claims.TryGetProperty("exp", out var expElement) || !expElement.TryGetInt64(out var exp))
        {
            return ("invalid_grant", "invalid assertion");
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(exp);
        var now = clock.Now;
        if (expires < now - Skew || expires > now + MaxLifetime + Skew)
        {
            return ("invalid_grant", "expired authorization code");
        }

        return null;
    }

    private static string? Text(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static RSA? LoadKey(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return null;
        }

        var pem = configured.Contains("-----BEGIN", StringComparison.Ordinal) ? configured : File.ReadAllText(configured);
        if (pem.Contains("CERTIFICATE", StringComparison.Ordinal))
        {
            using var certificate = X509Certificate2.CreateFromPem(pem);
            return certificate.GetRSAPublicKey();
        }

        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return rsa;
    }

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => string.Empty };
        return Convert.FromBase64String(padded);
    }
}
