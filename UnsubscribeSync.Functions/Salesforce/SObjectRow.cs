using System.Text.Json;
using System.Text.Json.Serialization;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// One record of a query whose field list is only known at run time (the opt-out field's API name differs
/// between orgs), read by name. Missing and null fields read as absent, never as an error.
/// </summary>
[JsonConverter(typeof(SObjectRowConverter))]
public sealed class SObjectRow(JsonElement element)
{
    /// <summary>The record's Id, when it is a valid Salesforce Id.</summary>
    public SalesforceId? Id => SalesforceId.TryParse(GetString("Id"), out var id, out _) ? id : null;

    public string? GetString(string field) =>
        element.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A checkbox: true only when the field is present and true.</summary>
    public bool GetBool(string field) =>
        element.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>A date-time in Salesforce's format (<c>2024-01-01T00:00:00.000+0000</c>).</summary>
    public DateTimeOffset? GetDateTime(string field) =>
        element.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.Deserialize<DateTimeOffset>(SalesforceJson.Options)
            : null;

    /// <summary>Builds a row from JSON text (tests and fixtures).</summary>
    public static SObjectRow Parse(string json) => new(JsonDocument.Parse(json).RootElement.Clone());

    private sealed class SObjectRowConverter : JsonConverter<SObjectRow>
    {
        public override SObjectRow Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(JsonElement.ParseValue(ref reader));

        public override void Write(Utf8JsonWriter writer, SObjectRow value, JsonSerializerOptions options) =>
            value.Write(writer);
    }

    private void Write(Utf8JsonWriter writer) => element.WriteTo(writer);
}
