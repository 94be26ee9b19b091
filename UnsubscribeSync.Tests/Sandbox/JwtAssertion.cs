using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace UnsubscribeSync.Tests.Sandbox;

/// <summary>Builds RS256 JWT bearer assertions as a Salesforce client would.</summary>
internal static class JwtAssertion
{
    public static string Create(string privateKeyPem, string issuer, string subject, string audience, DateTimeOffset expires)
    {
        var header = Encode(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256" }));
        var claims = Encode(JsonSerializer.SerializeToUtf8Bytes(new { iss = issuer, sub = subject, aud = audience, exp = expires.ToUnixTimeSeconds() }));
        using var rsa = RSA.Create();
        rsa.ImportFromPem(privateKeyPem);
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Encode(signature);
    }

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
