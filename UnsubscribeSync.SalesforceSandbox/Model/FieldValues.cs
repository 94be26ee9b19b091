using System.Text.Json;

namespace UnsubscribeSync.SalesforceSandbox.Model;

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
