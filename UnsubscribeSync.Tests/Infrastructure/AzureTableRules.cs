using Azure.Data.Tables;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// Limits the Table service enforces and Azurite does not (Learn, "Understanding the Table service data model"), and
/// text that is not valid UTF-16: a row Azurite keeps may still be refused by Azure with a 400 (which the app would
/// answer with a 500) or not come back as it was written. Tests that store what a caller sent check each written row.
/// </summary>
public static class AzureTableRules
{
    /// <summary>The earliest date-time the Table service stores (Edm.DateTime starts at 1601-01-01 UTC).</summary>
    public static readonly DateTimeOffset MinDateTime = new(1601, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A string property holds at most 64 KiB of UTF-16.</summary>
    public const int MaxStringChars = 32 * 1024;

    /// <summary>At most 255 properties, three of which are the keys and the timestamp.</summary>
    public const int MaxCustomProperties = 252;

    /// <summary>A key holds at most 1 KiB.</summary>
    public const int MaxKeyChars = 512;

    /// <summary>What Azure would refuse in <paramref name="row"/>; empty when it would store it.</summary>
    public static IReadOnlyList<string> Violations(TableEntity row)
    {
        var problems = new List<string>();
        CheckKey("PartitionKey", row.PartitionKey, problems);
        CheckKey("RowKey", row.RowKey, problems);
        var custom = row.Keys.Where(k => k is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")).ToList();
        if (custom.Count > MaxCustomProperties)
        {
            problems.Add($"{custom.Count} properties (at most {MaxCustomProperties})");
        }

        foreach (var name in custom)
        {
            switch (row[name])
            {
                case DateTimeOffset at when at < MinDateTime:
                    problems.Add($"{name} = {at:O} is before {MinDateTime:yyyy-MM-dd}");
                    break;
                case DateTime at when at < MinDateTime.UtcDateTime:
                    problems.Add($"{name} = {at:O} is before {MinDateTime:yyyy-MM-dd}");
                    break;
                case string text when text.Length > MaxStringChars:
                    problems.Add($"{name} holds {text.Length} characters (at most {MaxStringChars})");
                    break;
                case string text when HasLoneSurrogate(text):
                    problems.Add($"{name} holds an unpaired surrogate");
                    break;
            }
        }

        return problems;
    }

    private static void CheckKey(string name, string key, List<string> problems)
    {
        if (key.Length > MaxKeyChars)
        {
            problems.Add($"{name} holds {key.Length} characters (at most {MaxKeyChars})");
        }

        if (key.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c)))
        {
            problems.Add($"{name} holds a character keys may not contain (/ \\ # ? or a control character)");
        }
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }
}
