using System.Text.Json;
using System.Text.Json.Serialization;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Field values to write to one Contact or Lead. <c>Id</c> and <c>attributes</c> entries are never sent.</summary>
/// <param name="Id">The record.</param>
/// <param name="Fields">API field name to value, e.g. <c>HasOptedOutOfEmail = true</c>.</param>
public sealed record SalesforceRecordUpdate(SalesforceId Id, IReadOnlyDictionary<string, object?> Fields);

/// <summary>The outcome of one record in an sObject Collections update, in the caller's order.</summary>
/// <param name="Id">The record the caller asked to update (Salesforce omits the id on some failures).</param>
/// <param name="Success">Whether Salesforce saved it.</param>
/// <param name="Errors">Salesforce's errors for this record; empty on success.</param>
/// <param name="Kind">What to do about the failure; null on success.</param>
public sealed record RecordResult(SalesforceId Id, bool Success, IReadOnlyList<SalesforceError> Errors, SalesforceErrorKind? Kind)
{
    /// <summary>The first error's code, e.g. <c>CANNOT_UPDATE_CONVERTED_LEAD</c>.</summary>
    public string? ErrorCode => Errors.Count > 0 ? Errors[0].ErrorCode : null;

    /// <summary>The first error's message.</summary>
    public string? ErrorMessage => Errors.Count > 0 ? Errors[0].Message : null;
}

/// <summary>The parts of an sObject describe the sync needs.</summary>
/// <param name="Name">API name, e.g. <c>Contact</c>.</param>
/// <param name="Label">Display label.</param>
/// <param name="Fields">The fields the running user can see (field-level security applies).</param>
public sealed record SObjectDescription(string Name, string? Label, IReadOnlyList<FieldDescription> Fields)
{
    /// <summary>
    /// The instant to send as <c>If-Modified-Since</c> to ask whether this describe is still current: Salesforce's
    /// <c>Last-Modified</c>, else its <c>Date</c> less a second (HTTP dates have whole seconds); null when it sent neither.
    /// </summary>
    public DateTimeOffset? ValidAsOf { get; init; }

    /// <summary>The field with this API name (case-insensitive, as Salesforce treats API names), or null.</summary>
    public FieldDescription? FindField(string apiName) =>
        Fields.FirstOrDefault(f => string.Equals(f.Name, apiName, StringComparison.OrdinalIgnoreCase));
}

/// <summary>One field of an sObject describe.</summary>
/// <param name="Name">API name.</param>
/// <param name="Label">Display label.</param>
/// <param name="Type">Salesforce field type, e.g. <c>boolean</c>, <c>string</c>.</param>
/// <param name="Updateable">Whether the running user may write it (field-level security applies).</param>
/// <param name="Custom">Whether it is a custom field.</param>
public sealed record FieldDescription(string Name, string? Label, string? Type, bool Updateable, bool Custom)
{
    /// <summary>True for a checkbox field.</summary>
    public bool IsBoolean => string.Equals(Type, "boolean", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One org limit from <c>/limits</c>.</summary>
public sealed record SalesforceLimit(long Max, long Remaining)
{
    /// <summary>Amount used.</summary>
    public long Used => Max - Remaining;
}

/// <summary>The org's limits from <c>/limits</c>, keyed by Salesforce's limit name.</summary>
public sealed record SalesforceLimits(IReadOnlyDictionary<string, SalesforceLimit> All)
{
    /// <summary>The rolling 24-hour API request allocation, when the user may see it.</summary>
    public SalesforceLimit? DailyApiRequests => All.TryGetValue("DailyApiRequests", out var limit) ? limit : null;
}

/// <summary>JSON settings for Salesforce payloads: case-insensitive names and Salesforce's datetime format.</summary>
public static class SalesforceJson
{
    /// <summary>Shared, read-only options; use them to deserialize query records.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        options.Converters.Add(new SalesforceDateTimeConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
