using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// Checks <c>X-UnsubscribeSync-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.body")&gt;</c>.
/// Several <c>v1</c> entries are allowed so a sender can sign with the old and new secret during a rotation,
/// and <see cref="WebhookOptions.PreviousSigningSecret"/> lets our side accept the old secret while its
/// Key Vault reference refreshes.
/// </summary>
public sealed class WebhookSignatureVerifier(IOptions<WebhookOptions> options, TimeProvider timeProvider)
{
    public const string HeaderName = "X-UnsubscribeSync-Signature";

    /// <summary>Whether the deployment requires signatures at all.</summary>
    public bool IsRequired => !string.IsNullOrEmpty(options.Value.SigningSecret);

    /// <summary>Returns null when the signature is valid, else why it is not (safe to show the caller).</summary>
    public string? Verify(string? header, ReadOnlySpan<byte> body)
    {
        var secret = options.Value.SigningSecret;
        if (string.IsNullOrEmpty(secret))
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(header))
        {
            return $"The {HeaderName} header is required.";
        }

        long? timestamp = null;
        var candidates = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }

            var key = part[..eq];
            var value = part[(eq + 1)..];
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (key == "v1" && value.Length == 64 && TryFromHex(value, out var bytes))
            {
                candidates.Add(bytes);
            }
        }

        if (timestamp is null || candidates.Count == 0)
        {
            return $"The {HeaderName} header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>.";
        }

        var age = timeProvider.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(timestamp.Value, 0, 253402300799));
        if (age.Duration() > WebhookOptions.SignatureTolerance)
        {
            return $"The {HeaderName} timestamp is more than {WebhookOptions.SignatureTolerance.TotalSeconds:0} seconds from the current time.";
        }

        var secrets = string.IsNullOrEmpty(options.Value.PreviousSigningSecret)
            ? [secret]
            : new[] { secret, options.Value.PreviousSigningSecret };
        var match = false;
        foreach (var each in secrets)
        {
            var expected = Compute(each, timestamp.Value, body);
            foreach (var candidate in candidates)
            {
                // Compare every pair so timing says nothing about which one (if any) matched.
                match |= CryptographicOperations.FixedTimeEquals(expected, candidate);
            }
        }

        return match ? null : $"The {HeaderName} signature does not match the request body.";
    }

    /// <summary>Computes the signature bytes a sender puts in <c>v1</c>.</summary>
    public static byte[] Compute(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
    }

    /// <summary>Builds a complete header value; used by tests, benchmarks and the README's examples.</summary>
    public static string CreateHeader(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(Compute(secret, timestamp, body))}";
    }

    private static bool TryFromHex(string hex, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
