using System.Security.Cryptography;
using System.Text;

namespace UnsubscribeSync.Functions.Shared;

/// <summary>
/// The one key function of the app: lower-case hex SHA-256 of a string. Table keys cannot hold every
/// character an address or a caller's event id may contain, and a hash keeps addresses out of keys and logs.
/// </summary>
public static class StableKey
{
    public static string Of(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
