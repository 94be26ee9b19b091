using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Whether the opt-out field can be written on one object.</summary>
/// <param name="ObjectType">Contact or Lead.</param>
/// <param name="FieldName">The API name to write on this object; null when no field was found.</param>
/// <param name="Exists">The integration user can see the field.</param>
/// <param name="IsBoolean">It is a checkbox.</param>
/// <param name="IsUpdateable">The integration user may write it.</param>
/// <param name="Problem">What an administrator should fix; null when the field is usable.</param>
public sealed record OptOutFieldStatus(SalesforceObjectType ObjectType, string? FieldName, bool Exists, bool IsBoolean, bool IsUpdateable, string? Problem)
{
    /// <summary>True when opt-outs can be written to this object.</summary>
    public bool IsUsable => Problem is null;
}

/// <summary>Which field opt-outs go to, and whether Contact and Lead both allow writing it.</summary>
/// <param name="Target">The configured <c>Sync:TargetField</c>.</param>
/// <param name="FieldName">The API name to write (Contact's when discovery found different names; see <see cref="For"/>).</param>
/// <param name="Contact">The field on Contact.</param>
/// <param name="Lead">The field on Lead.</param>
public sealed record OptOutFieldResolution(OptOutTargetField Target, string? FieldName, OptOutFieldStatus Contact, OptOutFieldStatus Lead)
{
    /// <summary>True when both objects can be written.</summary>
    public bool IsUsable => Contact.IsUsable && Lead.IsUsable;

    /// <summary>Problems an administrator should fix, one per object at most.</summary>
    public IReadOnlyList<string> Problems => [.. new[] { Contact.Problem, Lead.Problem }.OfType<string>()];

    /// <summary>The status for one object; write <see cref="OptOutFieldStatus.FieldName"/> on records of that type.</summary>
    public OptOutFieldStatus For(SalesforceObjectType objectType) => objectType == SalesforceObjectType.Contact ? Contact : Lead;
}

/// <summary>
/// Finds the opt-out field named by <c>Sync:TargetField</c> on Contact and Lead and checks it can be
/// written. The push worker calls it before writing; results are cached because describes cost API calls.
/// </summary>
public interface IOptOutFieldResolver
{
    /// <summary>The cached resolution, describing Contact and Lead first when it is missing or stale.</summary>
    Task<OptOutFieldResolution> ResolveAsync(CancellationToken cancellationToken);

    /// <summary>Forgets the cached resolution, e.g. after Salesforce rejected a write with a field error.</summary>
    void Invalidate();
}

/// <summary>Describe-based <see cref="IOptOutFieldResolver"/>.</summary>
internal sealed class OptOutFieldResolver(
    ISalesforceClient client,
    IOptions<OptOutFieldOptions> fieldOptions,
    IOptions<SalesforceOptions> salesforceOptions,
    TimeProvider timeProvider,
    ILogger<OptOutFieldResolver> logger) : IOptOutFieldResolver, IDisposable
{
    /// <summary>The standard Email Opt Out field.</summary>
    public const string EmailOptOutField = "HasOptedOutOfEmail";

    /// <summary>Labels the Marketo Sales managed package has used for its checkbox.</summary>
    public static readonly IReadOnlyList<string> MarketoSalesOptOutLabels = ["Marketo Sales Opt Out", "MSE - Opt Out"];

    private const string FieldSetting = "Sync__MarketoSalesOptOutField";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Cached? _cached;

    public async Task<OptOutFieldResolution> ResolveAsync(CancellationToken cancellationToken)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && timeProvider.GetUtcNow() < cached.ExpiresAt)
        {
            return cached.Resolution;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cached = Volatile.Read(ref _cached);
            if (cached is not null && timeProvider.GetUtcNow() < cached.ExpiresAt)
            {
                return cached.Resolution;
            }

            var resolution = await ResolveUncachedAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _cached, new Cached(resolution, timeProvider.GetUtcNow() + salesforceOptions.Value.FieldCacheLifetime));
            return resolution;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Invalidate() => Volatile.Write(ref _cached, null);

    public void Dispose() => _gate.Dispose();

    private async Task<OptOutFieldResolution> ResolveUncachedAsync(CancellationToken cancellationToken)
    {
        var sync = fieldOptions.Value;
        var contactTask = client.DescribeAsync("Contact", cancellationToken);
        var leadTask = client.DescribeAsync("Lead", cancellationToken);
        await Task.WhenAll(contactTask, leadTask).ConfigureAwait(false);
        var contact = await contactTask.ConfigureAwait(false);
        var lead = await leadTask.ConfigureAwait(false);

        OptOutFieldStatus contactStatus, leadStatus;
        if (sync.Target == OptOutTargetField.EmailOptOut)
        {
            contactStatus = CheckNamed(contact, SalesforceObjectType.Contact, EmailOptOutField, "Email Opt Out (HasOptedOutOfEmail)", configured: false);
            leadStatus = CheckNamed(lead, SalesforceObjectType.Lead, EmailOptOutField, "Email Opt Out (HasOptedOutOfEmail)", configured: false);
        }
        else if (!string.IsNullOrWhiteSpace(sync.MarketoSalesOptOutField))
        {
            var name = sync.MarketoSalesOptOutField.Trim();
            contactStatus = CheckNamed(contact, SalesforceObjectType.Contact, name, name, configured: true);
            leadStatus = CheckNamed(lead, SalesforceObjectType.Lead, name, name, configured: true);
        }
        else
        {
            contactStatus = Discover(contact, SalesforceObjectType.Contact);
            leadStatus = Discover(lead, SalesforceObjectType.Lead);
        }

        var resolution = new OptOutFieldResolution(sync.Target, contactStatus.FieldName ?? leadStatus.FieldName, contactStatus, leadStatus);
        if (resolution.IsUsable)
        {
            SalesforceLog.OptOutFieldResolved(logger, contactStatus.FieldName!, leadStatus.FieldName!);
        }
        else
        {
            SalesforceLog.OptOutFieldProblems(logger, string.Join(" | ", resolution.Problems));
        }

        return resolution;
    }

    private static OptOutFieldStatus CheckNamed(SObjectDescription describe, SalesforceObjectType type, string apiName, string displayName, bool configured)
    {
        var field = describe.FindField(apiName);
        if (field is null)
        {
            var fix = configured
                ? $"install the package, correct {FieldSetting}, or give the integration user read access to the field"
                : "give the integration user read and edit access to the field (field-level security)";
            return new OptOutFieldStatus(type, null, false, false, false, $"field {displayName} not found on {type}: {fix}");
        }

        return Check(field, type, configured ? $"correct {FieldSetting}" : "check the org's field setup");
    }

    private static OptOutFieldStatus Discover(SObjectDescription describe, SalesforceObjectType type)
    {
        var candidates = describe.Fields
            .Where(f => f.Custom && MarketoSalesOptOutLabels.Any(l => string.Equals(f.Label?.Trim(), l, StringComparison.OrdinalIgnoreCase)))
            .OrderByDescending(f => f.IsBoolean)
            .ThenByDescending(f => f.Updateable)
            .ToList();
        if (candidates.Count == 0)
        {
            return new OptOutFieldStatus(type, null, false, false, false,
                $"field {MarketoSalesOptOutLabels[0]} not found on {type}: install the package or set {FieldSetting}");
        }

        return Check(candidates[0], type, $"set {FieldSetting} to the checkbox field");
    }

    private static OptOutFieldStatus Check(FieldDescription field, SalesforceObjectType type, string fixForType)
    {
        if (!field.IsBoolean)
        {
            return new OptOutFieldStatus(type, field.Name, true, false, field.Updateable,
                $"field {field.Name} on {type} is of type {field.Type}, not a checkbox: {fixForType}");
        }

        if (!field.Updateable)
        {
            return new OptOutFieldStatus(type, field.Name, true, true, false,
                $"field {field.Name} on {type} is read-only for the integration user: grant Edit access to {type}.{field.Name} in its permission set (field-level security)");
        }

        return new OptOutFieldStatus(type, field.Name, true, true, true, null);
    }

    private sealed record Cached(OptOutFieldResolution Resolution, DateTimeOffset ExpiresAt);
}
