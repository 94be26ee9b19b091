using System.Globalization;
using System.Text;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>
/// The change feed as CSV (RFC 4180) for a sender's suppression-list import: a header row, one row per change, CRLF line
/// ends, fields quoted when they hold a comma, quote or line break. A cell that a spreadsheet would run as a formula
/// (starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or carriage return) is prefixed with a single quote:
/// addresses and event ids come from outside and may start that way (<c>=cmd@example.com</c> is a valid address).
/// </summary>
public static class ConsentCsv
{
    public const string ContentType = "text/csv; charset=utf-8; header=present";

    public static readonly IReadOnlyList<string> Columns =
        ["email", "state", "since", "type", "source", "channel", "event_id", "salesforce_id", "occurred_at", "changed_at", "version", "sequence"];

    public static string Write(IEnumerable<FeedEntryEntity> entries)
    {
        var csv = new StringBuilder();
        AppendRow(csv, Columns);
        foreach (var e in entries)
        {
            AppendRow(csv,
            [
                e.Email,
                ConsentViews.StateName(e.State),
                Timestamp(e.StateSince),
                e.Type,
                e.Source,
                e.Channel,
                e.EventId,
                e.SalesforceId,
                e.OccurredAt is { } occurred ? Timestamp(occurred) : null,
                Timestamp(e.ChangedAt),
                e.Version.ToString(CultureInfo.InvariantCulture),
                e.Sequence.ToString(CultureInfo.InvariantCulture),
            ]);
        }

        return csv.ToString();
    }

    /// <summary>One cell as written: neutralised against formula injection, then quoted if needed.</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static void AppendRow(StringBuilder csv, IReadOnlyList<string?> cells)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0)
            {
                csv.Append(',');
            }

            csv.Append(Cell(cells[i]));
        }

        csv.Append("\r\n");
    }
}
