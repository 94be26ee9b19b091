using System.Text.Json;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// The in-memory org: every Contact, Lead and Account, in insertion order. One lock guards all rows, so a
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
            [ObjectSchema.Account] = ObjectSchema.For(ObjectSchema.Account, settings, asAdmin: true),
        };
        lock (Gate)
        {
            var newIds = new HashSet<string>(StringComparer.Ordinal);
            for (var index = 0; index < records.Count; index++)
            {
                created.Add(Build(records[index], index, schemas, now, newIds, settings));
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

    private StoredRecord Build(JsonElement json, int index, Dictionary<string, ObjectSchema> schemas, DateTimeOffset now, HashSet<string> newIds, SandboxSettings settings)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new SandboxRequestException($"records[{index}] is not an object");
        }

        var typeName = json.TryGetProperty("attributes", out var attributes) && attributes.ValueKind == JsonValueKind.Object
            && attributes.TryGetProperty("type", out var t) ? t.GetString()
            : json.TryGetProperty("type", out var t2) ? t2.GetString() : null;
        var type = ObjectSchema.CanonicalType(typeName)
            ?? throw new SandboxRequestException($"records[{index}]: attributes.type must be Contact, Lead or Account");
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

        if (type == ObjectSchema.Account)
        {
            // An Account is a Person Account unless created as a business account; without Person Accounts it is always one.
            record.Values.Remove("LastName");
            record.Values["Name"] = "Sandbox";
            record.Values["IsPersonAccount"] = settings.PersonAccountsEnabled;
            record.Values["PersonHasOptedOutOfEmail"] = false;
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

        if (type == ObjectSchema.Account && record.Values["IsPersonAccount"] is true)
        {
            // A person account's name is its person's, and it must have a last name, as Salesforce requires.
            record.Values.TryAdd("LastName", "Sandbox");
            record.Values["Name"] = string.Join(' ', new[] { record.Values.GetValueOrDefault("FirstName") as string, record.Values["LastName"] as string }.Where(n => !string.IsNullOrEmpty(n)));
        }

        return record;
    }
}
