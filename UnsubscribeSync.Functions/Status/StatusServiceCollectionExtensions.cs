using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Status;

/// <summary>Registers the administrator's view: the admin key, the ledger census, the status API and page, and the retry of stopped links.</summary>
public static class StatusServiceCollectionExtensions
{
    /// <summary>Adds the status services with <see cref="AdminOptions"/> bound and validated on start. Expects the storage, sync and Salesforce registrations.</summary>
    public static IServiceCollection AddStatus(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AdminOptions>()
            .Bind(configuration.GetSection(AdminOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => !IsKeyVaultReference(o.ApiKey) && !IsKeyVaultReference(o.PreviousApiKey),
                "Admin:ApiKey or Admin:PreviousApiKey is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            .Validate(o => string.IsNullOrEmpty(o.ApiKey) || o.ApiKey.Length >= AdminOptions.MinKeyLength,
                $"Admin:ApiKey must be at least {AdminOptions.MinKeyLength} characters (for example: openssl rand -base64 32).")
            .Validate(o => string.IsNullOrEmpty(o.PreviousApiKey) || o.PreviousApiKey.Length >= AdminOptions.MinKeyLength,
                $"Admin:PreviousApiKey must be at least {AdminOptions.MinKeyLength} characters.")
            .Validate(o => string.IsNullOrEmpty(o.PreviousApiKey) || !string.IsNullOrEmpty(o.ApiKey),
                "Admin:PreviousApiKey is set but Admin:ApiKey is not: set the current key too, or remove both to switch the admin endpoints off.")
            .Validate(o => string.IsNullOrEmpty(o.ApiKey) || o.ApiKey != configuration["Consent:ApiKey"],
                "Admin:ApiKey must not be the consent API's key: the sender holds that one, and the admin's view needs a key of its own.")
            .ValidateOnStart();

        services.TryAddSingleton<ISalesforceSignIn, SalesforceSignIn>();
        services.TryAddSingleton<AdminAccess>();
        services.TryAddSingleton<LedgerCensus>();
        services.TryAddSingleton(new NightlyScheduleSetting(configuration["NightlySyncSchedule"]));
        services.TryAddSingleton<StatusService>();
        services.TryAddSingleton<StatusHandler>();
        services.TryAddSingleton<LinkRetryService>();
        services.TryAddSingleton<LinkRetryHandler>();
        return services;
    }

    private static bool IsKeyVaultReference(string? value) =>
        value is not null && value.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase);
}
