using System.Security.Cryptography;
using System.Text;

namespace UnsubscribeSync.Functions.Http;

/// <summary>The comparison behind our own API keys (the consent API's and the admin endpoints'), each with a key being rotated out.</summary>
public static class ApiKeys
{
    /// <summary>True when <paramref name="presented"/> is the current or the previous key (an unset key matches nothing).</summary>
    public static bool IsCurrentOrPrevious(string presented, string? current, string? previous)
    {
        // Both keys are compared every time (no short-circuit), each as a fixed-length hash, so timing tells nothing.
        var isCurrent = Matches(presented, current);
        var isPrevious = Matches(presented, previous);
        return isCurrent | isPrevious;
    }

    private static bool Matches(string presented, string? expected)
    {
        var a = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(expected ?? string.Empty));
        return CryptographicOperations.FixedTimeEquals(a, b) && !string.IsNullOrEmpty(expected);
    }
}
