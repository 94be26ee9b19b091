using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// Reads JSON strings that System.Text.Json refuses to turn into .NET strings: invalid UTF-8 bytes,
/// or an escaped surrogate without its other half (what a sender writes when it cuts text in the
/// middle of an emoji). JsonDocument accepts both, and only GetString throws.
/// </summary>
internal static class JsonText
{
    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>The string's value, each broken character replaced by U+FFFD; <paramref name="repaired"/> says whether any was.</summary>
    public static string Read(JsonElement value, out bool repaired)
    {
        try
        {
            repaired = false;
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // The element is known to be a string, so this is broken text, not a wrong type.
            repaired = true;
            var raw = JsonMarshal.GetRawUtf8Value(value);
            return Unescape(Lenient.GetString(raw[1..^1]));
        }
    }

    /// <summary>A property's name, or null when it holds broken text (it cannot then be one of ours).</summary>
    public static string? NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    // The reader has already checked the escapes' syntax; only the surrogates they encode can be wrong.
    private static string Unescape(string text)
    {
        var chars = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\' || i + 1 == text.Length)
            {
                chars.Append(text[i]);
                continue;
            }

            var escaped = text[++i];
            switch (escaped)
            {
                case 'b': chars.Append('\b'); break;
                case 'f': chars.Append('\f'); break;
                case 'n': chars.Append('\n'); break;
                case 'r': chars.Append('\r'); break;
                case 't': chars.Append('\t'); break;
                case 'u' when i + 4 < text.Length
                    && ushort.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    chars.Append((char)code);
                    i += 4;
                    break;
                default: chars.Append(escaped); break;
            }
        }

        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return chars.ToString();
    }
}
