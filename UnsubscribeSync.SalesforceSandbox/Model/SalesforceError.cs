namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>An error as Salesforce reports it: HTTP status, error code, message and the fields involved.</summary>
public sealed record SalesforceError(int Status, string ErrorCode, string Message, IReadOnlyList<string>? Fields = null)
{
    public static SalesforceError MalformedId(string type, string? rawId) =>
        new(400, "MALFORMED_ID", $"{type} ID: id value of incorrect type: {rawId}", ["Id"]);

    public static SalesforceError NotFound() => new(404, "NOT_FOUND", "The requested resource does not exist");

    public static SalesforceError EntityIsDeleted() => new(404, "ENTITY_IS_DELETED", "entity is deleted", []);

    public static SalesforceError ConvertedLead() => new(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []);

    public static SalesforceError InvalidField(string field, string type) =>
        new(400, "INVALID_FIELD", $"No such column '{field}' on sobject of type {type}");

    public static SalesforceError NotUpdateable(string field) =>
        new(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            $"Unable to create/update fields: {field}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            [field]);

    public static SalesforceError JsonParser(string message) => new(400, "JSON_PARSER_ERROR", message);

    public static SalesforceError MalformedQuery(string message) => new(400, "MALFORMED_QUERY", message);
}
