using System.Text.RegularExpressions;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Takes email addresses out of Salesforce's error messages before anything logs or stores them. MALFORMED_QUERY and
/// INVALID_FIELD echo the query, so the resolve-by-email lookup's <c>Email IN ('a@b.com', ...)</c> list would otherwise
/// reach logs, link rows and the audit; validation rules and duplicate rules may quote a record's address too.
/// </summary>
internal static partial class SalesforceMessageScrubber
{
    /// <summary>What an address becomes: the message still says that an address was there.</summary>
    public const string MaskedEmail = "[email]";

    private const string RemovedList = "([list removed]";

    /// <summary>Drops quoted IN lists, then masks whatever still looks like an address (plain or URL-encoded).</summary>
    public static string Scrub(string message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return message;
        }

        var withoutLists = InList().Replace(message, m => m.Value[..(m.Groups["open"].Index - m.Index)] + RemovedList + (m.Groups["close"].Success ? ")" : string.Empty));
        return Email().Replace(withoutLists, MaskedEmail);
    }

    // IN ( 'literal' [, 'literal']... ) with SOQL's backslash escapes; Salesforce cuts long echoes off, so the closing
    // parenthesis (and the end of the last literal) may be missing: an unclosed literal ends at the line.
    [GeneratedRegex(@"\bIN\s*(?<open>\()\s*'(?:[^'\\\r\n]|\\.)*(?:'\s*,\s*'(?:[^'\\\r\n]|\\.)*)*'?(?:[ \t]*(?<close>\)))?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex InList();

    // Local part with the characters addresses use (and SOQL's \' escape), then @ or its URL encoding, then a dotted domain.
    // The local part leaves out % and may not start inside a %XX escape, so an encoded query keeps its %27 quotes.
    [GeneratedRegex(@"(?<!%[0-9A-Fa-f]?)[A-Za-z0-9.!#$&*+/=?^_`{|}~\\'-]*[A-Za-z0-9_](?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+", RegexOptions.CultureInvariant)]
    private static partial Regex Email();
}
