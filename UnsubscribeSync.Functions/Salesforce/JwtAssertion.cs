using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Builds the RS256-signed assertion of the OAuth 2.0 JWT bearer flow. Hand-rolled on
/// System.Security.Cryptography because the flow needs four claims, not a JWT library.
/// </summary>
internal static class JwtAssertion
{
    // Salesforce rejects assertions that expire more than three minutes out.
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(3);

    private static readonly byte[] Header = Encoding.UTF8.GetBytes("""{"alg":"RS256","typ":"JWT"}""");

    public static string Create(string clientId, string username, string audience, string privateKeyPem, DateTimeOffset now)
    {
        using var rsa = LoadKey(privateKeyPem);
        var claims = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iss"] = clientId,
            ["sub"] = username,
            ["aud"] = audience,
            ["exp"] = (now + Lifetime).ToUnixTimeSeconds(),
        });

        var signingInput = $"{Base64Url(Header)}.{Base64Url(claims)}";
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    /// <summary>Checks that the setting holds a usable RSA private key; <paramref name="problem"/> completes "Salesforce:PrivateKey ...".</summary>
    public static bool TryLoadKey(string privateKeyPem, out string? problem)
    {
        try
        {
            using var rsa = LoadKey(privateKeyPem);
            problem = null;
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            problem = "is not a usable PEM RSA private key: paste the whole '-----BEGIN PRIVATE KEY-----' block (unencrypted PKCS#8 or PKCS#1).";
            return false;
        }
    }

    private static RSA LoadKey(string privateKeyPem)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(NormalizePem(privateKeyPem));
            return rsa;
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    /// <summary>
    /// App Settings are single-line, so a pasted PEM often arrives with literal "\n" sequences instead
    /// of line breaks.
    /// </summary>
    internal static string NormalizePem(string pem)
    {
        return pem.Contains('\n', StringComparison.Ordinal) ? pem : pem.Replace("\\n", "\n", StringComparison.Ordinal);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
