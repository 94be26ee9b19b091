namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>The field data types the sandbox models, named as describe reports them.</summary>
public enum FieldKind
{
    Id,
    Reference,
    String,
    Email,
    Boolean,
    DateTime,
}

/// <summary>
/// One field of Contact or Lead as the running user sees it. <see cref="StorageKey"/> stays stable
/// when the custom opt-out field is renamed through settings.
/// </summary>
public sealed record FieldDefinition(
    string Name,
    string Label,
    FieldKind Kind,
    bool Updateable,
    bool Createable,
    bool Custom = false,
    bool Nillable = true,
    int Length = 0)
{
    public string StorageKey { get; init; } = Name;

    public string TypeName => Kind switch
    {
        FieldKind.Id => "id",
        FieldKind.Reference => "reference",
        FieldKind.String => "string",
        FieldKind.Email => "email",
        FieldKind.Boolean => "boolean",
        _ => "datetime",
    };

    public string SoapType => Kind switch
    {
        FieldKind.Id or FieldKind.Reference => "tns:ID",
        FieldKind.Boolean => "xsd:boolean",
        FieldKind.DateTime => "xsd:dateTime",
        _ => "xsd:string",
    };

    public bool IsIdLike => Kind is FieldKind.Id or FieldKind.Reference;
}
