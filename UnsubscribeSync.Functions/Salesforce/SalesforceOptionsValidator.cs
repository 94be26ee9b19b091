using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Checks <see cref="SalesforceOptions"/> at startup so a wrong setting stops the app with a message
/// naming it, instead of failing the first unsubscribe.
/// </summary>
public sealed partial class SalesforceOptionsValidator : IValidateOptions<SalesforceOptions>
{
    private const string Prefix = SalesforceOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, SalesforceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        foreach (var (setting, value) in new[]
        {
            ("LoginUrl", options.LoginUrl), ("ClientId", options.ClientId), ("ClientSecret", options.ClientSecret),
            ("Username", options.Username), ("PrivateKey", options.PrivateKey), ("JwtAudience", options.JwtAudience),
        })
        {
            // App Service leaves the literal reference in place when it cannot resolve it.
            if (value is not null && value.TrimStart().StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{Prefix}{setting} is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.");
            }
        }

        if (failures.Count > 0)
        {
            return ValidateOptionsResult.Fail(failures);
        }

        if (string.IsNullOrWhiteSpace(options.LoginUrl))
        {
            failures.Add($"{Prefix}LoginUrl is required: the org's My Domain URL, e.g. https://acme.my.salesforce.com.");
        }
        else if (!IsAllowedEndpoint(options.LoginUrl, out _))
        {
            failures.Add($"{Prefix}LoginUrl must be an https URL such as https://acme.my.salesforce.com (plain http only for a loopback host).");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add($"{Prefix}ClientId is required: the connected app's consumer key.");
        }

        ValidateFlow(options, failures);

        if (!ApiVersionPattern().IsMatch(options.ApiVersion ?? string.Empty)
            || decimal.Parse(options.ApiVersion!, CultureInfo.InvariantCulture) < 42.0m)
        {
            failures.Add($"{Prefix}ApiVersion must be a version such as 66.0 (no leading v), 42.0 or later.");
        }

        if (options.QueryBatchSize is < 200 or > 2000)
        {
            failures.Add($"{Prefix}QueryBatchSize must be between 200 and 2000.");
        }

        RequireAtLeast(failures, "TokenRefreshInterval", options.TokenRefreshInterval, TimeSpan.FromMinutes(1));
        RequireAtLeast(failures, "FieldCacheLifetime", options.FieldCacheLifetime, TimeSpan.Zero);
        RequireAtLeast(failures, "FieldCheckLifetime", options.FieldCheckLifetime, TimeSpan.Zero);
        RequireAtLeast(failures, "AttemptTimeout", options.AttemptTimeout, TimeSpan.FromMilliseconds(10));
        RequireAtLeast(failures, "TotalTimeout", options.TotalTimeout, TimeSpan.FromMilliseconds(10));
        RequireAtLeast(failures, "RetryBaseDelay", options.RetryBaseDelay, TimeSpan.Zero);

        // Polly's own limits, restated so a bad value fails at startup with the setting's name.
        RequireAtLeast(failures, "CircuitBreakerSamplingDuration", options.CircuitBreakerSamplingDuration, TimeSpan.FromMilliseconds(500));
        RequireAtLeast(failures, "CircuitBreakerBreakDuration", options.CircuitBreakerBreakDuration, TimeSpan.FromMilliseconds(500));
        if (options.MaxRetryAttempts is < 0 or > 10)
        {
            failures.Add($"{Prefix}MaxRetryAttempts must be between 0 and 10.");
        }

        if (options.CircuitBreakerFailureRatio is <= 0 or > 1)
        {
            failures.Add($"{Prefix}CircuitBreakerFailureRatio must be greater than 0 and at most 1.");
        }

        if (options.CircuitBreakerMinimumThroughput < 2)
        {
            failures.Add($"{Prefix}CircuitBreakerMinimumThroughput must be at least 2.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// True for an absolute https URL, or an http URL on a loopback host (the local sandbox). Tokens
    /// travel to these hosts, so nothing else is accepted.
    /// </summary>
    internal static bool IsAllowedEndpoint(string? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? uri)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out uri)
            && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
            && string.IsNullOrEmpty(uri.UserInfo))
        {
            return true;
        }

        uri = null;
        return false;
    }

    private static void ValidateFlow(SalesforceOptions options, List<string> failures)
    {
        var hasSecret = !string.IsNullOrWhiteSpace(options.ClientSecret);
        var hasUser = !string.IsNullOrWhiteSpace(options.Username);
        var hasKey = !string.IsNullOrWhiteSpace(options.PrivateKey);

        if (hasSecret && (hasUser || hasKey))
        {
            failures.Add($"Configure one sign-in flow: {Prefix}ClientSecret (client credentials) or {Prefix}Username with {Prefix}PrivateKey (JWT bearer), not both.");
            return;
        }

        if (!hasSecret && !hasUser && !hasKey)
        {
            failures.Add($"{Prefix}ClientSecret (client-credentials flow) or {Prefix}Username and {Prefix}PrivateKey (JWT bearer flow) must be set.");
            return;
        }

        if (hasSecret)
        {
            return;
        }

        if (!hasUser)
        {
            failures.Add($"{Prefix}Username is required with {Prefix}PrivateKey (JWT bearer flow): the Salesforce username to act as.");
        }

        if (!hasKey)
        {
            failures.Add($"{Prefix}PrivateKey is required with {Prefix}Username (JWT bearer flow): the PEM private key of the connected app's certificate.");
        }
        else if (!JwtAssertion.TryLoadKey(options.PrivateKey!, out var problem))
        {
            failures.Add($"{Prefix}PrivateKey {problem}");
        }

        if (!Uri.TryCreate(options.JwtAudience, UriKind.Absolute, out var audience) || audience.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{Prefix}JwtAudience must be an https URL: https://login.salesforce.com for production, https://test.salesforce.com for a sandbox org.");
        }
    }

    private static void RequireAtLeast(List<string> failures, string setting, TimeSpan value, TimeSpan minimum)
    {
        if (value < minimum)
        {
            var text = minimum == TimeSpan.Zero ? "not negative"
                : minimum < TimeSpan.FromSeconds(1) ? $"at least {minimum.TotalMilliseconds:0} ms"
                : $"at least {minimum.TotalSeconds:0} s";
            failures.Add($"{Prefix}{setting} must be {text}.");
        }
    }

    [GeneratedRegex(@"^\d{2,3}\.\d$", RegexOptions.CultureInvariant)]
    private static partial Regex ApiVersionPattern();
}
