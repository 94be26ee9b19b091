using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// The visible fields of one sObject type under the current settings: a missing custom field is
/// absent, a read-only one is not updateable, as field-level security makes them in a real org.
/// </summary>
public sealed class ObjectSchema
{
    public const string Contact = "Contact";
    public const string Lead = "Lead";
    public const string Account = "Account";
    public const string CustomFieldStorageKey = "$MarketoSalesOptOut";
    public const string CustomFieldLabel = "Marketo Sales Opt Out";

    private readonly Dictionary<string, FieldDefinition> _byName;

    private ObjectSchema(string name, string label, string labelPlural, string keyPrefix, IReadOnlyList<FieldDefinition> fields)
    {
        Name = name;
        Label = label;
        LabelPlural = labelPlural;
        KeyPrefix = keyPrefix;
        Fields = fields;
        _byName = fields.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);
    }

    public string Name { get; }

    public string Label { get; }

    public string LabelPlural { get; }

    public string KeyPrefix { get; }

    public IReadOnlyList<FieldDefinition> Fields { get; }

    public FieldDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Resolves a type name case-insensitively to its canonical spelling.</summary>
    public static string? CanonicalType(string? type) =>
        string.Equals(type, Contact, StringComparison.OrdinalIgnoreCase) ? Contact
        : string.Equals(type, Lead, StringComparison.OrdinalIgnoreCase) ? Lead
        : string.Equals(type, Account, StringComparison.OrdinalIgnoreCase) ? Account
        : null;

    public static string? TypeOfId(string id18) =>
        id18.StartsWith("003", StringComparison.Ordinal) ? Contact
        : id18.StartsWith("00Q", StringComparison.Ordinal) ? Lead
        : id18.StartsWith("001", StringComparison.Ordinal) ? Account
        : null;

    /// <summary>The schema under the current settings; <paramref name="asAdmin"/> sees the custom field even where FLS hides it.</summary>
    public static ObjectSchema For(string type, SandboxSettings settings, bool asAdmin = false)
    {
        if (type == Account)
        {
            return ForAccount(settings, asAdmin);
        }

        var isLead = type == Lead;
        var fields = new List<FieldDefinition>
        {
            new("Id", isLead ? "Lead ID" : "Contact ID", FieldKind.Id, Updateable: false, Createable: false, Nillable: false, Length: 18),
            new("IsDeleted", "Deleted", FieldKind.Boolean, Updateable: false, Createable: false, Nillable: false),
            new("MasterRecordId", "Master Record ID", FieldKind.Reference, Updateable: false, Createable: false, Length: 18),
            new("LastName", "Last Name", FieldKind.String, Updateable: true, Createable: true, Nillable: false, Length: 80),
            new("FirstName", "First Name", FieldKind.String, Updateable: true, Createable: true, Length: 40),
            new("Email", "Email", FieldKind.Email, Updateable: true, Createable: true, Length: 80),
            new("HasOptedOutOfEmail", "Email Opt Out", FieldKind.Boolean, Updateable: true, Createable: true, Nillable: false),
        };

        if (isLead)
        {
            fields.Add(new("IsConverted", "Converted", FieldKind.Boolean, Updateable: false, Createable: true, Nillable: false));
            fields.Add(new("ConvertedContactId", "Converted Contact ID", FieldKind.Reference, Updateable: false, Createable: false, Length: 18));
        }

        fields.Add(new("CreatedDate", "Created Date", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));
        fields.Add(new("LastModifiedDate", "Last Modified Date", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));
        fields.Add(new("SystemModstamp", "System Modstamp", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));

        var present = asAdmin || (isLead ? settings.CustomFieldPresentOnLead : settings.CustomFieldPresentOnContact);
        if (present)
        {
            var updateable = asAdmin || (isLead ? settings.CustomFieldUpdateableOnLead : settings.CustomFieldUpdateableOnContact);
            fields.Add(new FieldDefinition(settings.CustomOptOutField, CustomFieldLabel, FieldKind.Boolean, updateable, updateable, Custom: true, Nillable: false)
            {
                StorageKey = CustomFieldStorageKey,
            });
        }

        return isLead
            ? new ObjectSchema(Lead, "Lead", "Leads", "00Q", fields)
            : new ObjectSchema(Contact, "Contact", "Contacts", "003", fields);
    }

    /// <summary>
    /// The Person Account form of a Contact custom field: Salesforce shows <c>Xyz__c</c> of Contact on Account as <c>Xyz__pc</c>.
    /// </summary>
    public static string PersonAccountField(string contactField) => contactField[..^3] + "__pc";

    /// <summary>
    /// Account as an org with Person Accounts shows it: the person's Contact fields appear on it under their Person
    /// Account names (PersonEmail, PersonHasOptedOutOfEmail, the custom field as __pc), under the Contact's field-level
    /// security. An org without Person Accounts shows none of them, nor IsPersonAccount.
    /// </summary>
    private static ObjectSchema ForAccount(SandboxSettings settings, bool asAdmin)
    {
        var fields = new List<FieldDefinition>
        {
            new("Id", "Account ID", FieldKind.Id, Updateable: false, Createable: false, Nillable: false, Length: 18),
            new("IsDeleted", "Deleted", FieldKind.Boolean, Updateable: false, Createable: false, Nillable: false),
            new("MasterRecordId", "Master Record ID", FieldKind.Reference, Updateable: false, Createable: false, Length: 18),
            new("Name", "Account Name", FieldKind.String, Updateable: true, Createable: true, Nillable: false, Length: 255),
        };

        if (settings.PersonAccountsEnabled)
        {
            fields.Add(new("IsPersonAccount", "Is Person Account", FieldKind.Boolean, Updateable: false, Createable: true, Nillable: false));
            fields.Add(new("LastName", "Last Name", FieldKind.String, Updateable: true, Createable: true, Length: 80));
            fields.Add(new("FirstName", "First Name", FieldKind.String, Updateable: true, Createable: true, Length: 40));
            fields.Add(new("PersonEmail", "Email", FieldKind.Email, Updateable: true, Createable: true, Length: 80));
            fields.Add(new("PersonHasOptedOutOfEmail", "Email Opt Out", FieldKind.Boolean, Updateable: true, Createable: true, Nillable: false));
        }

        fields.Add(new("CreatedDate", "Created Date", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));
        fields.Add(new("LastModifiedDate", "Last Modified Date", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));
        fields.Add(new("SystemModstamp", "System Modstamp", FieldKind.DateTime, Updateable: false, Createable: false, Nillable: false));

        if (settings.PersonAccountsEnabled && (asAdmin || settings.CustomFieldPresentOnContact))
        {
            var updateable = asAdmin || settings.CustomFieldUpdateableOnContact;
            fields.Add(new FieldDefinition(PersonAccountField(settings.CustomOptOutField), CustomFieldLabel, FieldKind.Boolean, updateable, updateable, Custom: true, Nillable: false)
            {
                StorageKey = CustomFieldStorageKey,
            });
        }

        return new ObjectSchema(Account, "Account", "Accounts", "001", fields);
    }
}
