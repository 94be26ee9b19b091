using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Salesforce writes datetimes as <c>2024-01-01T00:00:00.000+0000</c>, an offset without a colon that
/// System.Text.Json rejects. Reads that form (and ISO 8601 forms) and writes it back in UTC.
/// </summary>
public sealed class SalesforceDateTimeConverter : JsonConverter<DateTimeOffset>
{
    private const string WriteFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'+0000'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a Salesforce datetime string, got {reader.TokenType}.");
        }

        var text = reader.GetString();
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            return value;
        }

        throw new JsonException("Not a Salesforce datetime.");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);

        // Written raw because the default encoder would turn '+' into \u002B; the format has nothing to escape.
        writer.WriteRawValue($"\"{value.UtcDateTime.ToString(WriteFormat, CultureInfo.InvariantCulture)}\"", skipInputValidation: true);
    }
}
