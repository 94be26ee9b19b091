using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>Registers the audit chain (docs/audit-chain.md).</summary>
public static class AuditChainServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AuditChainOptions"/> from the <c>AuditChain</c> section and, unless it is switched off, registers
    /// the chain writer the audit log appends through and the nightly check. Expects the storage registrations.
    /// </summary>
    public static IServiceCollection AddAuditChain(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AuditChainOptions>()
            .Bind(configuration.GetSection(AuditChainOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (!configuration.GetSection(AuditChainOptions.SectionName).GetValue(nameof(AuditChainOptions.Enabled), true))
        {
            return services;
        }

        services.TryAddSingleton(sp => AuditChainStorage.Create(
            BlobStorage.FromConfiguration(configuration), sp.GetRequiredService<StorageClients>(), sp.GetRequiredService<IOptions<AuditChainOptions>>()));
        services.TryAddSingleton<IAuditChain, AuditChain>();
        services.TryAddSingleton<AuditChainVerifier>();
        services.TryAddSingleton<IAuditChainCheck, AuditChainCheck>();
        return services;
    }
}
