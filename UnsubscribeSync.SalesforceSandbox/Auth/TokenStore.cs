using System.Collections.Concurrent;
using System.Security.Cryptography;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Auth;

/// <summary>Issued access tokens with their issue time; expired on demand or after the session lifetime.</summary>
public sealed class TokenStore(SandboxClock clock, SandboxState state)
{
    public const string OrgId15 = "00DSB0000000001";

    private readonly ConcurrentDictionary<string, DateTimeOffset> _issued = new(StringComparer.Ordinal);

    public (string Token, DateTimeOffset IssuedAt) Issue()
    {
        var token = OrgId15 + "!" + Base64Url(RandomNumberGenerator.GetBytes(48));
        var issuedAt = clock.Now;
        _issued[token] = issuedAt;
        return (token, issuedAt);
    }

    public bool IsValid(string token) =>
        _issued.TryGetValue(token, out var issuedAt)
        && clock.Now - issuedAt < TimeSpan.FromSeconds(state.Settings.SessionLifetimeSeconds);

    public void ExpireAll() => _issued.Clear();

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '.').Replace('/', '_');
}
