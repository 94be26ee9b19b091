using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// The change feed's cursor: which feed, and the last sequence number the caller has. Opaque to callers (base64url of
/// <c>1:{feed id}:{sequence}</c>), so its form can change without breaking them; the feed id makes a cursor from another
/// feed (a recreated table, another deployment) fail loudly instead of skipping or repeating changes.
/// </summary>
public sealed record ChangeFeedCursor(string FeedId, long Sequence)
{
    private const string Version = "1";

    /// <summary>Before the first change of any feed.</summary>
    public static readonly ChangeFeedCursor Start = new(string.Empty, 0);

    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Version}:{FeedId}:{Sequence}");
        return Convert.ToBase64String(Encoding.ASCII.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Reads a cursor this API handed out; false for anything else.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out ChangeFeedCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(value) || value.Length > 128)
        {
            return false;
        }

        var base64 = value.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        Span<byte> bytes = stackalloc byte[96];
        if (!Convert.TryFromBase64String(base64, bytes, out var length))
        {
            return false;
        }

        var parts = Encoding.ASCII.GetString(bytes[..length]).Split(':');
        if (parts.Length != 3 || parts[0] != Version || !IsFeedId(parts[1])
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || (parts[1].Length == 0 && sequence != 0))
        {
            return false;
        }

        cursor = new ChangeFeedCursor(parts[1], sequence);
        return true;
    }

    // Feed ids are 32 lower-case hex digits (a Guid's "N" form); empty only for the start of a feed not yet written.
    private static bool IsFeedId(string value) => value.Length == 0 || (value.Length == 32 && value.All(char.IsAsciiHexDigitLower));
}
