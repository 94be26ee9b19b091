using System.Globalization;
using System.Text;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Builds SOQL literals from untrusted values. Addresses can legally contain <c>'</c> and <c>\</c>,
/// so every string that goes into a query passes through <see cref="Quote"/>.
/// </summary>
public static class Soql
{
    /// <summary>Escapes a value for use inside a single-quoted SOQL string (the escape sequences of SOQL quoted strings), without the quotes.</summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            // Each character is handled once, so the backslash is escaped before any escape we add.
            builder.Append(c switch
            {
                '\\' => @"\\",
                '\'' => @"\'",
                '"' => "\\\"",
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                '\b' => @"\b",
                '\f' => @"\f",
                _ => c.ToString(),
            });
        }

        return builder.ToString();
    }

    /// <summary>A quoted, escaped SOQL string literal: <c>'o\'brien@example.com'</c>.</summary>
    public static string Quote(string value) => $"'{Escape(value)}'";

    /// <summary>An IN list of quoted literals: <c>('a','b')</c>.</summary>
    /// <exception cref="ArgumentException">The list is empty; SOQL has no empty IN list.</exception>
    public static string InList(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var quoted = values.Select(Quote).ToList();
        if (quoted.Count == 0)
        {
            throw new ArgumentException("A SOQL IN list needs at least one value.", nameof(values));
        }

        return $"({string.Join(',', quoted)})";
    }

    /// <summary>An IN list of Salesforce Ids.</summary>
    public static string InList(IEnumerable<SalesforceId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return InList(ids.Select(id => id.Value));
    }

    /// <summary>
    /// An unquoted UTC dateTime literal, <c>2024-01-01T00:00:00Z</c>. Fractional seconds are dropped
    /// because Salesforce does not document accepting them in literals.
    /// </summary>
    public static string DateTimeLiteral(DateTimeOffset value)
    {
        return value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }
}
