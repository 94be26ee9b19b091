using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Query;

/// <summary>The lexical classes of the SOQL subset.</summary>
public enum SoqlTokenKind
{
    Identifier,
    String,
    Number,
    DateTime,
    Date,
    Symbol,
    End,
}

/// <summary>One SOQL token; for strings <see cref="Text"/> is the raw text between the quotes.</summary>
public sealed record SoqlToken(SoqlTokenKind Kind, string Text, int Position)
{
    public bool IsKeyword(string keyword) => Kind == SoqlTokenKind.Identifier && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    public bool IsSymbol(string symbol) => Kind == SoqlTokenKind.Symbol && Text == symbol;
}

/// <summary>Splits SOQL into tokens and decodes string literals with Salesforce's escape rules.</summary>
public static partial class SoqlTokenizer
{
    public static List<SoqlToken> Tokenize(string soql)
    {
        var tokens = new List<SoqlToken>();
        var i = 0;
        while (i < soql.Length)
        {
            var c = soql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '\'')
            {
                var start = ++i;
                while (i < soql.Length && soql[i] != '\'')
                {
                    // A backslash always takes the next character with it; DecodeString validates the pair.
                    i += soql[i] == '\\' ? 2 : 1;
                }

                if (i >= soql.Length)
                {
                    throw new SoqlException(SalesforceError.MalformedQuery($"unterminated string literal at position {start - 1}"));
                }

                tokens.Add(new SoqlToken(SoqlTokenKind.String, soql[start..i], start - 1));
                i++;
                continue;
            }

            if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < soql.Length && char.IsAsciiDigit(soql[i + 1])))
            {
                var dateTime = DateTimeLiteral().Match(soql, i);
                if (dateTime.Success)
                {
                    tokens.Add(new SoqlToken(SoqlTokenKind.DateTime, dateTime.Value, i));
                    i += dateTime.Length;
                    continue;
                }

                var date = DateLiteral().Match(soql, i);
                if (date.Success)
                {
                    tokens.Add(new SoqlToken(SoqlTokenKind.Date, date.Value, i));
                    i += date.Length;
                    continue;
                }

                var number = NumberLiteral().Match(soql, i);
                tokens.Add(new SoqlToken(SoqlTokenKind.Number, number.Value, i));
                i += number.Length;
                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < soql.Length && (char.IsAsciiLetterOrDigit(soql[i]) || soql[i] is '_' or '.'))
                {
                    i++;
                }

                tokens.Add(new SoqlToken(SoqlTokenKind.Identifier, soql[start..i], start));
                continue;
            }

            var two = i + 1 < soql.Length ? soql.Substring(i, 2) : null;
            if (two is "!=" or "<>" or "<=" or ">=")
            {
                tokens.Add(new SoqlToken(SoqlTokenKind.Symbol, two == "<>" ? "!=" : two, i));
                i += 2;
                continue;
            }

            if (c is '=' or '<' or '>' or '(' or ')' or ',')
            {
                tokens.Add(new SoqlToken(SoqlTokenKind.Symbol, c.ToString(), i));
                i++;
                continue;
            }

            throw new SoqlException(SalesforceError.MalformedQuery($"unexpected token: '{c}' at position {i}"));
        }

        tokens.Add(new SoqlToken(SoqlTokenKind.End, string.Empty, soql.Length));
        return tokens;
    }

    /// <summary>
    /// Decodes a quoted literal: \\ \' \" \n \r \t \b \f (either case) and \uXXXX; in LIKE patterns
    /// \% and \_ stay escaped (returned as <c>\%</c>, <c>\_</c>). Any other backslash is an error.
    /// </summary>
    public static string DecodeString(string raw, bool likePattern)
    {
        var builder = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (i + 1 >= raw.Length)
            {
                throw InvalidEscape(raw);
            }

            var next = raw[++i];
            switch (next)
            {
                case '\\': builder.Append(likePattern ? "\\\\" : "\\"); break;
                case '\'': builder.Append('\''); break;
                case '"': builder.Append('"'); break;
                case 'n' or 'N': builder.Append('\n'); break;
                case 'r' or 'R': builder.Append('\r'); break;
                case 't' or 'T': builder.Append('\t'); break;
                case 'b' or 'B': builder.Append('\b'); break;
                case 'f' or 'F': builder.Append('\f'); break;
                case 'u' when i + 4 < raw.Length && int.TryParse(raw.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    builder.Append((char)code);
                    i += 4;
                    break;
                case '%' or '_' when likePattern:
                    builder.Append('\\').Append(next);
                    break;
                default:
                    throw InvalidEscape(raw);
            }
        }

        return builder.ToString();
    }

    private static SoqlException InvalidEscape(string raw) =>
        new(SalesforceError.MalformedQuery($"Invalid string literal '{raw}'. Illegal character sequence '\\' in string literal."));

    [GeneratedRegex(@"\G\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})", RegexOptions.CultureInvariant)]
    private static partial Regex DateTimeLiteral();

    [GeneratedRegex(@"\G\d{4}-\d{2}-\d{2}(?![\dT])", RegexOptions.CultureInvariant)]
    private static partial Regex DateLiteral();

    [GeneratedRegex(@"\G-?\d+(\.\d+)?", RegexOptions.CultureInvariant)]
    private static partial Regex NumberLiteral();
}

/// <summary>A query the sandbox rejects, carrying the Salesforce error to answer with.</summary>
public sealed class SoqlException(SalesforceError error) : Exception(error.Message)
{
    public SalesforceError Error { get; } = error;
}
