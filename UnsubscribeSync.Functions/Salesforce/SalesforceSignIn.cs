namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Whether the app can sign in to Salesforce, for the administrator's status checks.</summary>
public interface ISalesforceSignIn
{
    /// <summary>The org's instance URL once signed in; the cached token serves when it is still fresh, so usually no call is made.</summary>
    /// <exception cref="SalesforceApiException">Salesforce refused the sign-in; <see cref="SalesforceApiException.Setting"/> names the setting to fix.</exception>
    Task<Uri> SignInAsync(CancellationToken cancellationToken);
}

/// <summary>Signs in through the client's own token provider, so the check sees exactly what push and the sync see.</summary>
internal sealed class SalesforceSignIn(ISalesforceTokenProvider tokens) : ISalesforceSignIn
{
    public async Task<Uri> SignInAsync(CancellationToken cancellationToken) => (await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false)).InstanceUrl;
}
