using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>Registers the nightly sync: planner, batch runner and their parts.</summary>
public static class SyncServiceCollectionExtensions
{
    /// <summary>
    /// Adds the nightly sync. Expects the storage, ledger, intake, Salesforce and writer registrations of the
    /// composition root; binds <see cref="NightlySyncOptions"/> from the <c>Sync</c> section.
    /// </summary>
    public static IServiceCollection AddNightlySync(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<NightlySyncOptions>()
            .Bind(configuration.GetSection(SyncOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.AuditDaysValid, "Retention:AuditDays must be 0 (keep for ever) or at least 365: the audit is the evidence an opt-out was honoured.")
            .ValidateOnStart();

        services.TryAddSingleton<SyncRunStore>();
        services.TryAddSingleton<ISyncBatchQueue, SyncBatchQueue>();
        services.TryAddSingleton<ApiBudget>();
        services.TryAddSingleton<InboundSync>();
        services.TryAddSingleton<OutboundSync>();
        services.TryAddSingleton<IntakeSweep>();
        services.TryAddSingleton<RetentionSweep>();
        services.TryAddSingleton<SyncRunCloser>();
        services.TryAddSingleton<ISyncBatchRunner, SyncBatchRunner>();
        services.TryAddSingleton<INightlySyncService, NightlySyncService>();
        return services;
    }
}
