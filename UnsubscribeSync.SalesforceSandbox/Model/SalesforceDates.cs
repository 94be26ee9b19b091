using System.Globalization;

namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>Salesforce's datetime text form, <c>2024-01-01T00:00:00.000+0000</c>.</summary>
public static class SalesforceDates
{
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
