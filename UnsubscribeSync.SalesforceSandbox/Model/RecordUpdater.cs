using System.Text.Json;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// Validates an API update the way Salesforce orders its checks: the Id's form and type, then the
/// fields (existence, then field-level security), then the row itself (missing, deleted, converted).
/// </summary>
public sealed class RecordUpdater(RecordStore store)
{
    /// <summary>Checks one update; call under <see cref="RecordStore.Gate"/>. On success <paramref name="record"/> and <paramref name="values"/> are set.</summary>
    public SalesforceError? Prepare(
        string type, string? rawId, JsonElement body, SandboxSettings settings, out StoredRecord record, out Dictionary<string, object?> values)
    {
        record = null!;
        values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (!SandboxIds.TryNormalize(rawId, out var id18) || ObjectSchema.TypeOfId(id18) != type)
        {
            return SalesforceError.MalformedId(type, rawId);
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return SalesforceError.JsonParser("The request body must be a JSON object of field values");
        }

        var schema = ObjectSchema.For(type, settings);
        foreach (var property in body.EnumerateObject())
        {
            if (property.NameEquals("attributes") || string.Equals(property.Name, "Id", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var field = schema.Find(property.Name);
            if (field is null)
            {
                return SalesforceError.InvalidField(property.Name, type);
            }

            if (!field.Updateable)
            {
                return SalesforceError.NotUpdateable(field.Name);
            }

            if (!FieldValues.TryConvert(field, property.Value, out var value, out var error))
            {
                return error;
            }

            values[field.StorageKey] = value;
        }

        var found = store.Find(id18);
        if (found is null)
        {
            return SalesforceError.NotFound();
        }

        if (found.IsDeleted)
        {
            return SalesforceError.EntityIsDeleted();
        }

        if (found.IsConverted)
        {
            return SalesforceError.ConvertedLead();
        }

        record = found;
        return null;
    }
}
