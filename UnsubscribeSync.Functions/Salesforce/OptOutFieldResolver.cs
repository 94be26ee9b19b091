using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Whether the opt-out field can be written on one object.</summary>
/// <param name="ObjectType">Contact, Lead or Person Account.</param>
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

/// <summary>Which field opt-outs go to, and whether Contact and Lead (and Person Accounts, where the org has them) allow writing it.</summary>
/// <param name="Target">The configured <c>Sync:TargetField</c>.</param>
/// <param name="FieldName">The API name to write (Contact's when discovery found different names; see <see cref="For"/>).</param>
/// <param name="Contact">The field on Contact.</param>
/// <param name="Lead">The field on Lead.</param>
/// <param name="PersonAccount">The field's Person Account form on Account; null when the org has no Person Accounts or they are switched off.</param>
/// <param name="PersonAccountsAbsent">Why there are no Person Accounts to write, when <paramref name="PersonAccount"/> is null.</param>
/// <param name="PersonAccountsRequired">
/// <c>Sync:PersonAccounts=On</c>: their absence is a problem to fix, not a fact about the org.
/// </param>
public sealed record OptOutFieldResolution(
    OptOutTargetField Target,
    string? FieldName,
    OptOutFieldStatus Contact,
    OptOutFieldStatus Lead,
    OptOutFieldStatus? PersonAccount = null,
    string? PersonAccountsAbsent = null,
    bool PersonAccountsRequired = false)
{
    /// <summary>Why a Person Account cannot be written when the resolution gives no other reason.</summary>
    public const string NoPersonAccounts =
        "the org has no Person Accounts (the describe of Account shows no PersonEmail or IsPersonAccount field)";

    /// <summary>True when the org has Person Accounts and they are not switched off: Account is written and synced.</summary>
    public bool HasPersonAccounts => PersonAccount is not null;

    /// <summary>True when every object in use can be written.</summary>
    public bool IsUsable => Problems.Count == 0;

    /// <summary>Problems an administrator should fix, one per object at most.</summary>
    public IReadOnlyList<string> Problems =>
        [.. new[] { Contact.Problem, Lead.Problem, PersonAccount?.Problem, PersonAccount is null && PersonAccountsRequired ? PersonAccountsProblem : null }.OfType<string>()];

    private string PersonAccountsProblem => $"Sync__PersonAccounts is On but {PersonAccountsAbsent ?? NoPersonAccounts}: enable Person Accounts or set it to Auto";

    /// <summary>The status for one object; write <see cref="OptOutFieldStatus.FieldName"/> on records of that type.</summary>
    public OptOutFieldStatus For(SalesforceObjectType objectType) => objectType switch
    {
        SalesforceObjectType.Contact => Contact,
        SalesforceObjectType.Lead => Lead,
        _ => PersonAccount ?? new OptOutFieldStatus(SalesforceObjectType.PersonAccount, null, false, false, false,
            $"the record is an Account (001) but {PersonAccountsAbsent ?? NoPersonAccounts}; link the address to its Contact or Lead instead"),
    };
}

/// <summary>
/// Finds the opt-out field named by <c>Sync:TargetField</c> on Contact and Lead (and its Person Account form on
/// Account, where the org has Person Accounts and <c>Sync:PersonAccounts</c> is not Off) and checks it can be
/// written. The push worker calls it before writing; results are cached in the process, and the describes kept in
/// <see cref="IFieldCheckStore"/> across runs, because describes cost API calls.
/// </summary>
public interface IOptOutFieldResolver
{
    /// <summary>The cached resolution, describing Contact and Lead first when it is missing or stale.</summary>
    Task<OptOutFieldResolution> ResolveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Forgets the cached resolution and the kept describes, e.g. after Salesforce rejected a write or a query with a
    /// field error: the next resolve describes afresh.
    /// </summary>
    void Invalidate();
}

/// <summary>Describe-based <see cref="IOptOutFieldResolver"/>.</summary>
internal sealed class OptOutFieldResolver(
    ISalesforceClient client,
    IFieldCheckStore store,
    IOptions<OptOutFieldOptions> fieldOptions,
    IOptions<SalesforceOptions> salesforceOptions,
    TimeProvider timeProvider,
    ILogger<OptOutFieldResolver> logger) : IOptOutFieldResolver, IDisposable
{
    /// <summary>The standard Email Opt Out field.</summary>
    public const string EmailOptOutField = "HasOptedOutOfEmail";

    /// <summary>Email Opt Out on a Person Account.</summary>
    public const string PersonEmailOptOutField = "PersonHasOptedOutOfEmail";

    /// <summary>The fields a describe of Account shows only in an org with Person Accounts.</summary>
    public const string PersonEmailField = "PersonEmail";

    /// <inheritdoc cref="PersonEmailField"/>
    public const string IsPersonAccountField = "IsPersonAccount";

    /// <summary>Labels the Marketo Sales managed package has used for its checkbox.</summary>
    public static readonly IReadOnlyList<string> MarketoSalesOptOutLabels = ["Marketo Sales Opt Out", "MSE - Opt Out"];

    private const string FieldSetting = "Sync__MarketoSalesOptOutField";

    // A table property holds 64 KiB (32K UTF-16 characters); a kept describe larger than this is not kept.
    private const int MaxKeptFieldsLength = 30_000;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Cached? _cached;
    private int _describeAfresh;

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

    public void Invalidate()
    {
        Volatile.Write(ref _describeAfresh, 1);
        Volatile.Write(ref _cached, null);
    }

    public void Dispose() => _gate.Dispose();

    private async Task<OptOutFieldResolution> ResolveUncachedAsync(CancellationToken cancellationToken)
    {
        var afresh = Interlocked.Exchange(ref _describeAfresh, 0) == 1;
        var describes = await DescribeAllAsync(afresh, cancellationToken).ConfigureAwait(false);
        var resolution = Evaluate(describes);
        if (!resolution.IsUsable && !describes.AllFresh)
        {
            // A failing check is never taken from what was kept: the admin may have fixed it since, and while it fails
            // nothing is written, so describing costs calls only while the org is misconfigured.
            describes = await DescribeAllAsync(afresh: true, cancellationToken).ConfigureAwait(false);
            resolution = Evaluate(describes);
        }

        Report(resolution);
        return resolution;
    }

    private async Task<Describes> DescribeAllAsync(bool afresh, CancellationToken cancellationToken)
    {
        var sync = fieldOptions.Value;
        var scope = Scope(sync);
        var contactTask = DescribeKeptAsync(scope, "Contact", afresh, mayBeUnavailable: false, cancellationToken);
        var leadTask = DescribeKeptAsync(scope, "Lead", afresh, mayBeUnavailable: false, cancellationToken);
        var accountTask = DescribeAccountAsync(scope, sync.PersonAccounts, afresh, cancellationToken);
        await Task.WhenAll(contactTask, leadTask, accountTask).ConfigureAwait(false);
        var contact = await contactTask.ConfigureAwait(false);
        var lead = await leadTask.ConfigureAwait(false);
        var (account, absent, accountFresh) = await accountTask.ConfigureAwait(false);
        return new Describes(contact.Description!, lead.Description!, account, absent, contact.Fresh && lead.Fresh && accountFresh);
    }

    private OptOutFieldResolution Evaluate(Describes describes)
    {
        var sync = fieldOptions.Value;
        var (contact, lead, account, absent) = (describes.Contact, describes.Lead, describes.Account, describes.Absent);

        OptOutFieldStatus contactStatus, leadStatus;
        OptOutFieldStatus? personStatus = null;
        if (sync.Target == OptOutTargetField.EmailOptOut)
        {
            contactStatus = CheckNamed(contact, SalesforceObjectType.Contact, EmailOptOutField, "Email Opt Out (HasOptedOutOfEmail)", configured: false);
            leadStatus = CheckNamed(lead, SalesforceObjectType.Lead, EmailOptOutField, "Email Opt Out (HasOptedOutOfEmail)", configured: false);
            if (account is not null)
            {
                personStatus = CheckNamed(account, SalesforceObjectType.PersonAccount, PersonEmailOptOutField, "Email Opt Out (PersonHasOptedOutOfEmail)", configured: false);
            }
        }
        else if (!string.IsNullOrWhiteSpace(sync.MarketoSalesOptOutField))
        {
            var name = sync.MarketoSalesOptOutField.Trim();
            contactStatus = CheckNamed(contact, SalesforceObjectType.Contact, name, name, configured: true);
            leadStatus = CheckNamed(lead, SalesforceObjectType.Lead, name, name, configured: true);
            if (account is not null)
            {
                var personName = SalesforceObjectTypes.PersonAccountField(name);
                personStatus = CheckNamed(account, SalesforceObjectType.PersonAccount, personName, personName, configured: true);
            }
        }
        else
        {
            contactStatus = Discover(contact, SalesforceObjectType.Contact);
            leadStatus = Discover(lead, SalesforceObjectType.Lead);
            if (account is not null)
            {
                // A person account carries the Contact's own field, so the one found on Contact decides; by label only when Contact has none.
                personStatus = contactStatus.FieldName is { } found
                    ? CheckNamed(account, SalesforceObjectType.PersonAccount, SalesforceObjectTypes.PersonAccountField(found), SalesforceObjectTypes.PersonAccountField(found), configured: false)
                    : Discover(account, SalesforceObjectType.PersonAccount);
            }
        }

        return new OptOutFieldResolution(
            sync.Target, contactStatus.FieldName ?? leadStatus.FieldName, contactStatus, leadStatus, personStatus, absent, sync.PersonAccounts == PersonAccountMode.On);
    }

    private void Report(OptOutFieldResolution resolution)
    {
        var (contactStatus, leadStatus, personStatus) = (resolution.Contact, resolution.Lead, resolution.PersonAccount);
        if (resolution.IsUsable)
        {
            SalesforceLog.OptOutFieldResolved(logger, contactStatus.FieldName!, leadStatus.FieldName!);
        }
        else
        {
            SalesforceLog.OptOutFieldProblems(logger, string.Join(" | ", resolution.Problems));
        }

        if (personStatus is { FieldName: { } personField })
        {
            SalesforceLog.PersonAccountsFound(logger, personField);
        }
        else if (personStatus is null && !resolution.PersonAccountsRequired)
        {
            // Said every time the fields are checked (on first use, then once per cache lifetime), never per record.
            SalesforceLog.PersonAccountsAbsent(logger, resolution.PersonAccountsAbsent ?? OptOutFieldResolution.NoPersonAccounts);
        }
    }

    /// <summary>
    /// Account's describe when Person Accounts may be in use and the org has them, else why not. An org without them
    /// shows Account without the person fields; an integration user who may not see Account gets NOT_FOUND.
    /// </summary>
    private async Task<(SObjectDescription? Account, string? Absent, bool Fresh)> DescribeAccountAsync(
        string scope, PersonAccountMode mode, bool afresh, CancellationToken cancellationToken)
    {
        if (mode == PersonAccountMode.Off)
        {
            return (null, "Person Accounts are switched off (Sync__PersonAccounts=Off)", true);
        }

        var (account, unavailable, fresh) = await DescribeKeptAsync(scope, "Account", afresh, mayBeUnavailable: true, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            return (null, $"Account cannot be described for the integration user ({unavailable}), so no Person Account can be read or written", fresh);
        }

        return account.FindField(PersonEmailField) is null || account.FindField(IsPersonAccountField) is null
            ? (null, OptOutFieldResolution.NoPersonAccounts, fresh)
            : (account, null, fresh);
    }

    /// <summary>
    /// One object's describe, reduced to the fields the check reads: the kept one while Salesforce confirmed it within
    /// <see cref="SalesforceOptions.FieldCheckLifetime"/> (no call); after that, asked with <c>If-Modified-Since</c>
    /// (a 304 keeps it); otherwise, or <paramref name="afresh"/>, described in full. <c>Fresh</c> is true when
    /// Salesforce sent the describe now.
    /// </summary>
    private async Task<(SObjectDescription? Description, string? UnavailableCode, bool Fresh)> DescribeKeptAsync(
        string scope, string sObjectName, bool afresh, bool mayBeUnavailable, CancellationToken cancellationToken)
    {
        var kept = afresh ? null : await ReadKeptAsync(scope, sObjectName, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        if (kept is not null && kept.CheckedAt <= now && now - kept.CheckedAt < salesforceOptions.Value.FieldCheckLifetime)
        {
            SalesforceLog.FieldCheckSource(logger, sObjectName, "kept describe, confirmed within Salesforce__FieldCheckLifetime (no call)");
            return (kept.Description, kept.UnavailableCode, false);
        }

        SObjectDescription? described;
        try
        {
            if (kept is { ValidAsOf: { } since, UnavailableCode: null })
            {
                described = await client.DescribeIfModifiedAsync(sObjectName, since, cancellationToken).ConfigureAwait(false);
                if (described is null)
                {
                    SalesforceLog.FieldCheckSource(logger, sObjectName, "kept describe, Salesforce answered 304 Not Modified");
                    await SaveKeptAsync(scope, kept with { CheckedAt = now }, cancellationToken).ConfigureAwait(false);
                    return (kept.Description, null, false);
                }
            }
            else
            {
                described = await client.DescribeAsync(sObjectName, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (SalesforceApiException ex) when (mayBeUnavailable && ex.Kind == SalesforceErrorKind.Permanent)
        {
            var code = ex.ErrorCode ?? ex.Kind.ToString();
            await SaveKeptAsync(scope, new KeptDescribe(sObjectName, [], code, null, now), cancellationToken).ConfigureAwait(false);
            return (null, code, true);
        }

        SalesforceLog.FieldCheckSource(logger, sObjectName, "described");
        var reduced = new KeptDescribe(sObjectName, [.. described.Fields.Where(f => IsRead(f, sObjectName))], null, described.ValidAsOf, now);
        await SaveKeptAsync(scope, reduced, cancellationToken).ConfigureAwait(false);
        return (reduced.Description, null, true);
    }

    /// <summary>
    /// The fields any check of the current settings can look at. A describe holds hundreds of fields in a real org;
    /// kept whole it would not fit a table property. Fresh and kept describes are evaluated reduced alike, so both give
    /// the same answer. The configured field name is part of the scope, so a new name is described afresh.
    /// </summary>
    private bool IsRead(FieldDescription field, string sObjectName)
    {
        var configured = fieldOptions.Value.MarketoSalesOptOutField?.Trim();
        if (field.Name is EmailOptOutField or PersonEmailOptOutField or PersonEmailField or IsPersonAccountField
            || (!string.IsNullOrEmpty(configured)
                && (string.Equals(field.Name, configured, StringComparison.OrdinalIgnoreCase)
                    || string.Equals(field.Name, SalesforceObjectTypes.PersonAccountField(configured), StringComparison.OrdinalIgnoreCase))))
        {
            return true;
        }

        // Discovery matches custom fields by label; on Account the person form (__pc) of Contact's field is checked by name.
        return field.Custom
            && (MarketoSalesOptOutLabels.Any(l => string.Equals(field.Label?.Trim(), l, StringComparison.OrdinalIgnoreCase))
                || (sObjectName == "Account" && field.Name.EndsWith("__pc", StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The org, user, API version and field setting a describe holds for; a hash, so no setting is copied into storage.</summary>
    private string Scope(OptOutFieldOptions sync)
    {
        var sf = salesforceOptions.Value;
        var text = string.Join('\n', sf.LoginUrl?.Trim().TrimEnd('/').ToUpperInvariant(), sf.ApiVersion, sf.UsesClientCredentials ? sf.ClientId : sf.Username, sync.MarketoSalesOptOutField?.Trim());
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    // What was kept is an optimisation: storage trouble must never stop the check, which then describes instead.
    private async Task<KeptDescribe?> ReadKeptAsync(string scope, string sObjectName, CancellationToken cancellationToken)
    {
        try
        {
            return await store.GetAsync(scope, sObjectName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SalesforceLog.KeptDescribeUnavailable(logger, sObjectName, "read", ex.GetType().Name);
            return null;
        }
    }

    private async Task SaveKeptAsync(string scope, KeptDescribe describe, CancellationToken cancellationToken)
    {
        if (System.Text.Json.JsonSerializer.Serialize(describe.Fields).Length > MaxKeptFieldsLength)
        {
            SalesforceLog.KeptDescribeUnavailable(logger, describe.SObjectName, "kept", "too many matching fields");
            return;
        }

        try
        {
            await store.SaveAsync(scope, describe, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SalesforceLog.KeptDescribeUnavailable(logger, describe.SObjectName, "kept", ex.GetType().Name);
        }
    }

    private static OptOutFieldStatus CheckNamed(SObjectDescription describe, SalesforceObjectType type, string apiName, string displayName, bool configured)
    {
        var field = describe.FindField(apiName);
        if (field is null)
        {
            var fix = configured
                ? $"install the package, correct {FieldSetting}, or give the integration user read access to the field"
                : "give the integration user read and edit access to the field (field-level security)";
            return new OptOutFieldStatus(type, null, false, false, false, $"field {displayName} not found on {Label(type)}: {fix}");
        }

        return Check(field, type, configured ? $"correct {FieldSetting}" : "check the org's field setup");
    }

    private static OptOutFieldStatus Discover(SObjectDescription describe, SalesforceObjectType type)
    {
        // On Account only a person field (__pc) belongs to the person; an Account's own (__c) would mark the company.
        var candidates = describe.Fields
            .Where(f => f.Custom && MarketoSalesOptOutLabels.Any(l => string.Equals(f.Label?.Trim(), l, StringComparison.OrdinalIgnoreCase)))
            .Where(f => type != SalesforceObjectType.PersonAccount || f.Name.EndsWith("__pc", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(f => f.IsBoolean)
            .ThenByDescending(f => f.Updateable)
            .ToList();
        if (candidates.Count == 0)
        {
            return new OptOutFieldStatus(type, null, false, false, false,
                $"field {MarketoSalesOptOutLabels[0]} not found on {Label(type)}: install the package or set {FieldSetting}");
        }

        return Check(candidates[0], type, $"set {FieldSetting} to the checkbox field");
    }

    private static OptOutFieldStatus Check(FieldDescription field, SalesforceObjectType type, string fixForType)
    {
        if (!field.IsBoolean)
        {
            return new OptOutFieldStatus(type, field.Name, true, false, field.Updateable,
                $"field {field.Name} on {Label(type)} is of type {field.Type}, not a checkbox: {fixForType}");
        }

        if (!field.Updateable)
        {
            return new OptOutFieldStatus(type, field.Name, true, true, false,
                $"field {field.Name} on {Label(type)} is read-only for the integration user: grant Edit access to {type.SObjectName()}.{field.Name} in its permission set (field-level security)");
        }

        return new OptOutFieldStatus(type, field.Name, true, true, true, null);
    }

    private static string Label(SalesforceObjectType type) => type == SalesforceObjectType.PersonAccount ? "Account (Person Account)" : type.ToString();

    private sealed record Cached(OptOutFieldResolution Resolution, DateTimeOffset ExpiresAt);

    private sealed record Describes(SObjectDescription Contact, SObjectDescription Lead, SObjectDescription? Account, string? Absent, bool AllFresh);
}
