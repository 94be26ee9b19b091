namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// Salesforce record Ids: 15-character case-sensitive bodies with the 3-character checksum suffix
/// that makes the 18-character form case-insensitive. Kept separate from the Functions app on
/// purpose: the sandbox is an independent test double.
/// </summary>
public static class SandboxIds
{
    private const string SuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    private const string BodyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Checksum(ReadOnlySpan<char> body15)
    {
        Span<char> suffix = stackalloc char[3];
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var bits = 0;
            for (var i = 0; i < 5; i++)
            {
                if (body15[(chunk * 5) + i] is >= 'A' and <= 'Z')
                {
                    bits |= 1 << i;
                }
            }

            suffix[chunk] = SuffixAlphabet[bits];
        }

        return new string(suffix);
    }

    /// <summary>Normalizes a 15- or 18-character Id to 18 characters; false when it is not a well-formed Id.</summary>
    public static bool TryNormalize(string? value, out string id18)
    {
        id18 = string.Empty;
        if (value is null || (value.Length != 15 && value.Length != 18) || !value.All(char.IsAsciiLetterOrDigit))
        {
            return false;
        }

        if (value.Length == 15)
        {
            id18 = value + Checksum(value);
            return true;
        }

        var body = value[..15];
        if (string.Equals(Checksum(body), value[15..], StringComparison.OrdinalIgnoreCase))
        {
            id18 = body + Checksum(body);
            return true;
        }

        // An 18-character Id is case-insensitive: the suffix says which letters were uppercase.
        var restored = RestoreCase(body, value[15..].ToUpperInvariant());
        if (restored is null)
        {
            return false;
        }

        id18 = restored + Checksum(restored);
        return string.Equals(id18[15..], value[15..], StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Builds a unique-looking 18-character Id from a key prefix and a sequence number.</summary>
    public static string Create(string keyPrefix, long sequence)
    {
        Span<char> body = stackalloc char[15];
        keyPrefix.AsSpan().CopyTo(body);
        body[3] = 'S';
        body[4] = 'B';
        var n = sequence;
        for (var i = 14; i >= 5; i--)
        {
            body[i] = BodyAlphabet[(int)(n % BodyAlphabet.Length)];
            n /= BodyAlphabet.Length;
        }

        var text = new string(body);
        return text + Checksum(text);
    }

    private static string? RestoreCase(string body, string suffix)
    {
        var chars = body.ToCharArray();
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var bits = SuffixAlphabet.IndexOf(suffix[chunk], StringComparison.Ordinal);
            if (bits < 0)
            {
                return null;
            }

            for (var i = 0; i < 5; i++)
            {
                var index = (chunk * 5) + i;
                chars[index] = (bits & (1 << i)) != 0 ? char.ToUpperInvariant(chars[index]) : char.ToLowerInvariant(chars[index]);
            }
        }

        return new string(chars);
    }
}
