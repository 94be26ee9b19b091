using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Hosting;

/// <summary>The app's composition root, kept out of Program.cs so tests build the same graph.</summary>
public static class HostingExtensions
{
    public static IHostApplicationBuilder AddUnsubscribeSync(this IHostApplicationBuilder builder)
    {
        builder.Services.AddUnsubscribeSync(builder.Configuration);
        return builder;
    }

    public static IServiceCollection AddUnsubscribeSync(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<SyncOptions>()
            .Bind(configuration.GetSection(SyncOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<WebhookOptions>()
            .Bind(configuration.GetSection(WebhookOptions.SectionName))
            .Validate(o => o.SigningSecret is null || !o.SigningSecret.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase),
                "Webhook:SigningSecret is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            .ValidateOnStart();
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection("Storage"))
            .Configure(o =>
            {
                o.PushQueue = configuration[StorageOptions.PushQueueSetting] ?? o.PushQueue;
                o.SyncBatchQueue = configuration[StorageOptions.SyncBatchQueueSetting] ?? o.SyncBatchQueue;
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(_ => StorageClients.FromConfiguration(configuration));
        services.TryAddSingleton<StorageBootstrap>();
        services.TryAddSingleton<ILedgerStore, LedgerStore>();
        services.TryAddSingleton<IAuditLog, AuditLog>();
        services.TryAddSingleton<IIntakeRecords, IntakeRecords>();
        services.TryAddSingleton<IPushQueue, PushQueue>();
        services.TryAddSingleton<IIntakeService, IntakeService>();
        services.TryAddSingleton<EventParser>();
        services.TryAddSingleton<WebhookSignatureVerifier>();
        services.TryAddSingleton<WebhookHandler>();

        services.AddSalesforce(configuration);
        services.TryAddSingleton<IRecordRedirectResolver, RecordRedirectResolver>();
        services.TryAddSingleton<IPushService, PushService>();
        return services;
    }
}
