namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// One object's describe as the field check keeps it between runs: only the fields the check reads, and when
/// Salesforce last confirmed it.
/// </summary>
/// <param name="SObjectName">Contact, Lead or Account.</param>
/// <param name="Fields">The fields the field check can look at; empty when <paramref name="UnavailableCode"/> is set.</param>
/// <param name="UnavailableCode">The error code Salesforce answered instead of a describe (Account for a user who may not see it).</param>
/// <param name="ValidAsOf">What to send as <c>If-Modified-Since</c> to ask whether it still holds; null: describe in full.</param>
/// <param name="CheckedAt">When Salesforce last answered for it (a describe or a 304), on our clock.</param>
public sealed record KeptDescribe(
    string SObjectName,
    IReadOnlyList<FieldDescription> Fields,
    string? UnavailableCode,
    DateTimeOffset? ValidAsOf,
    DateTimeOffset CheckedAt)
{
    /// <summary>The describe the field check evaluates; null when the object could not be described.</summary>
    public SObjectDescription? Description => UnavailableCode is null ? new SObjectDescription(SObjectName, null, Fields) { ValidAsOf = ValidAsOf } : null;
}

/// <summary>
/// Where the field check keeps its describes across runs and processes, so a run spends describe calls only when a
/// kept one is older than <see cref="SalesforceOptions.FieldCheckLifetime"/> or Salesforce has shown it wrong.
/// The scope names the org, user and field settings the describe was made under; a describe kept
/// under another scope is not returned. Implementations may fail: the field check then describes as if nothing were kept.
/// </summary>
public interface IFieldCheckStore
{
    /// <summary>The kept describe of <paramref name="sObjectName"/> under <paramref name="scope"/>, or null.</summary>
    Task<KeptDescribe?> GetAsync(string scope, string sObjectName, CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="describe"/> under <paramref name="scope"/>, replacing what was kept.</summary>
    Task SaveAsync(string scope, KeptDescribe describe, CancellationToken cancellationToken);
}

/// <summary>Keeps nothing: every process describes on first use, as before describes were kept (the client alone, without the app's storage).</summary>
internal sealed class NoFieldCheckStore : IFieldCheckStore
{
    public Task<KeptDescribe?> GetAsync(string scope, string sObjectName, CancellationToken cancellationToken) => Task.FromResult<KeptDescribe?>(null);

    public Task SaveAsync(string scope, KeptDescribe describe, CancellationToken cancellationToken) => Task.CompletedTask;
}
