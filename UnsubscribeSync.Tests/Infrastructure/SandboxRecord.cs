using System.Text.Json.Nodes;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// A Contact, Lead or (Person) Account to seed into the Salesforce sandbox; on an Account, <paramref name="Email"/> and
/// <paramref name="HasOptedOutOfEmail"/> are its PersonEmail and PersonHasOptedOutOfEmail. <paramref name="Fields"/> takes any other
/// known field (FirstName, IsDeleted, MasterRecordId, IsConverted, ConvertedContactId, the custom
/// opt-out field, SystemModstamp …); values are serialized as JSON.
/// </summary>
public sealed record SandboxRecord(
    string Type,
    string? Email = null,
    string? Id = null,
    bool? HasOptedOutOfEmail = null,
    IReadOnlyDictionary<string, object?>? Fields = null)
{
    public static SandboxRecord Contact(string? email = null, bool? optedOut = null, IReadOnlyDictionary<string, object?>? fields = null) =>
        new("Contact", email, HasOptedOutOfEmail: optedOut, Fields: fields);

    public static SandboxRecord Lead(string? email = null, bool? optedOut = null, IReadOnlyDictionary<string, object?>? fields = null) =>
        new("Lead", email, HasOptedOutOfEmail: optedOut, Fields: fields);

    public static SandboxRecord PersonAccount(string? email = null, bool? optedOut = null, IReadOnlyDictionary<string, object?>? fields = null) =>
        new("Account", email, HasOptedOutOfEmail: optedOut, Fields: fields);

    internal JsonObject ToJson()
    {
        var json = new JsonObject { ["attributes"] = new JsonObject { ["type"] = Type } };
        if (Id is not null)
        {
            json["Id"] = Id;
        }

        if (Email is not null)
        {
            json[Type == "Account" ? "PersonEmail" : "Email"] = Email;
        }

        if (HasOptedOutOfEmail is { } optedOut)
        {
            json[Type == "Account" ? "PersonHasOptedOutOfEmail" : "HasOptedOutOfEmail"] = optedOut;
        }

        foreach (var (name, value) in Fields ?? new Dictionary<string, object?>())
        {
            json[name] = value switch
            {
                null => null,
                DateTimeOffset d => JsonValue.Create(d.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture)),
                _ => System.Text.Json.JsonSerializer.SerializeToNode(value),
            };
        }

        return json;
    }
}
