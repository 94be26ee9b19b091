using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// Signs a notification exactly as our webhook expects its callers to sign (README, "Signatures"):
/// <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "&lt;t&gt;.&lt;raw body&gt;")&gt;</c>, so a receiver that already
/// verifies one verifies the other with the same code. A test checks our webhook verifier accepts these.
/// </summary>
public static class NotificationSignature
{
    public static string Create(string secret, DateTimeOffset at, ReadOnlySpan<byte> body)
    {
        var timestamp = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var prefix = Encoding.UTF8.GetBytes(timestamp + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return $"t={timestamp},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message))}";
    }
}
