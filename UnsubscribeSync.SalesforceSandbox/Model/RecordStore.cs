using System.Globalization;
using System.Text.Json;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// The in-memory org: every Contact and Lead, in insertion order. One lock guards all rows, so a
/// collections call with allOrNone validates and applies its records atomically.
/// </summary>
public sealed class RecordStore(SandboxClock clock)
{
    private readonly Dictionary<string, StoredRecord> _byId = new(StringComparer.Ordinal);
    private readonly List<StoredRecord> _ordered = [];
    private long _sequence;

    public Lock Gate { get; } = new();

    public SandboxClock Clock => clock;

    public void Clear()
    {
        lock (Gate)
        {
            _byId.Clear();
            _ordered.Clear();
        }
    }

    /// <summary>Rows in insertion order; call under <see cref="Gate"/>.</summary>
    public IReadOnlyList<StoredRecord> Rows => _ordered;

    /// <summary>Finds a row by its 18-character Id; call under <see cref="Gate"/>.</summary>
    public StoredRecord? Find(string id18) => _byId.GetValueOrDefault(id18);

    /// <summary>
    /// Creates records as an administrator would (every known field writable). All rows of one call
    /// share a creation time; nothing is stored when any record is invalid.
    /// </summary>
    public IReadOnlyList<string> Create(IReadOnlyList<JsonElement> records, SandboxSettings settings)
    {
        var now = clock.Next();
        var created = new List<StoredRecord>(records.Count);
        var schemas = new Dictionary<string, ObjectSchema>
        {
            [ObjectSchema.Contact] = ObjectSchema.For(ObjectSchema.Contact, settings, asAdmin: true),
            [ObjectSchema.Lead] = ObjectSchema.For(ObjectSchema.Lead, settings, asAdmin: true),
        };
        lock (Gate)
        {
            var newIds = new HashSet<string>(StringComparer.Ordinal);
            for (var index = 0; index < records.Count; index++)
            {
                created.Add(Build(records[index], index, schemas, now, newIds));
            }

            foreach (var record in created)
            {
                _byId.Add(record.Id, record);
                _ordered.Add(record);
            }
        }

        return created.ConvertAll(r => r.Id);
    }

    /// <summary>Sets field values and bumps SystemModstamp and LastModifiedDate; call under <see cref="Gate"/>.</summary>
    public void Apply(StoredRecord record, IReadOnlyDictionary<string, object?> values)
    {
        var now = clock.Next();
        record.Values["SystemModstamp"] = now;
        record.Values["LastModifiedDate"] = now;
        foreach (var (key, value) in values)
        {
            record.Values[key] = value;
        }
    }

    private StoredRecord Build(JsonElement json, int index, Dictionary<string, ObjectSchema> schemas, DateTimeOffset now, HashSet<string> newIds)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new SandboxRequestException($"records[{index}] is not an object");
        }

        var typeName = json.TryGetProperty("attributes", out var attributes) && attributes.ValueKind == JsonValueKind.Object
            && attributes.TryGetProperty("type", out var t) ? t.GetString()
            : json.TryGetProperty("type", out var t2) ? t2.GetString() : null;
        var type = ObjectSchema.CanonicalType(typeName)
            ?? throw new SandboxRequestException($"records[{index}]: attributes.type must be Contact or Lead");
        var schema = schemas[type];

        string id;
        var rawId = json.TryGetProperty("Id", out var idElement) || json.TryGetProperty("id", out idElement) ? idElement.GetString() : null;
        if (rawId is null)
        {
            id = SandboxIds.Create(schema.KeyPrefix, Interlocked.Increment(ref _sequence));
        }
        else if (!SandboxIds.TryNormalize(rawId, out id) || ObjectSchema.TypeOfId(id) != type)
        {
            throw new SandboxRequestException($"records[{index}]: '{rawId}' is not a valid {type} Id");
        }

        if (_byId.ContainsKey(id) || !newIds.Add(id))
        {
            throw new SandboxRequestException($"records[{index}]: Id {id} already exists");
        }

        var record = new StoredRecord(type, id);
        record.Values["IsDeleted"] = false;
        record.Values["HasOptedOutOfEmail"] = false;
        record.Values[ObjectSchema.CustomFieldStorageKey] = false;
        record.Values["LastName"] = "Sandbox";
        record.Values["CreatedDate"] = now;
        record.Values["LastModifiedDate"] = now;
        record.Values["SystemModstamp"] = now;
        if (type == ObjectSchema.Lead)
        {
            record.Values["IsConverted"] = false;
        }

        foreach (var property in json.EnumerateObject())
        {
            if (property.NameEquals("attributes") || property.NameEquals("type")
                || string.Equals(property.Name, "Id", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var field = schema.Find(property.Name)
                ?? throw new SandboxRequestException($"records[{index}]: no field '{property.Name}' on {type}");
            if (!FieldValues.TryConvert(field, property.Value, out var value, out var error))
            {
                throw new SandboxRequestException($"records[{index}]: {error.Message}");
            }

            record.Values[field.StorageKey] = value;
        }

        return record;
    }
}

/// <summary>A control-API request the sandbox cannot carry out; answered with 400 and the message.</summary>
public sealed class SandboxRequestException(string message) : Exception(message);

/// <summary>Converts JSON values to stored field values with Salesforce's leniency.</summary>
public static class FieldValues
{
    public static bool TryConvert(FieldDefinition field, JsonElement json, out object? value, out SalesforceError error)
    {
        value = null;
        error = null!;
        switch (field.Kind)
        {
            case FieldKind.Boolean:
                switch (json.ValueKind)
                {
                    case JsonValueKind.True:
                    case JsonValueKind.False:
                        value = json.GetBoolean();
                        return true;
                    case JsonValueKind.Null:
                        // Salesforce stores a null checkbox as false.
                        value = false;
                        return true;
                    case JsonValueKind.String when bool.TryParse(json.GetString(), out var parsed):
                        value = parsed;
                        return true;
                }

                break;
            case FieldKind.String:
            case FieldKind.Email:
                if (json.ValueKind == JsonValueKind.Null)
                {
                    return true;
                }

                if (json.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                {
                    value = json.ValueKind == JsonValueKind.String ? json.GetString() : json.GetRawText();
                    return true;
                }

                break;
            case FieldKind.Id:
            case FieldKind.Reference:
                if (json.ValueKind == JsonValueKind.Null)
                {
                    return true;
                }

                if (json.ValueKind == JsonValueKind.String)
                {
                    if (SandboxIds.TryNormalize(json.GetString(), out var id18))
                    {
                        value = id18;
                        return true;
                    }

                    error = new SalesforceError(400, "MALFORMED_ID", $"{field.Label}: id value of incorrect type: {json.GetString()}", [field.Name]);
                    return false;
                }

                break;
            case FieldKind.DateTime:
                if (json.ValueKind == JsonValueKind.Null)
                {
                    return true;
                }

                if (json.ValueKind == JsonValueKind.String && SalesforceDates.TryParse(json.GetString(), out var when))
                {
                    value = when;
                    return true;
                }

                break;
        }

        error = SalesforceError.JsonParser(
            $"Cannot deserialize instance of {field.TypeName} from {json.ValueKind} value {json.GetRawText()} or request may be missing a required field");
        return false;
    }
}

/// <summary>Salesforce's datetime text form, <c>2024-01-01T00:00:00.000+0000</c>.</summary>
public static class SalesforceDates
{
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
