using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Status;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Functions.Hosting;

/// <summary>The app's composition root, kept out of Program.cs so tests build the same graph.</summary>
public static class HostingExtensions
{
    private const string ApplicationInsightsLoggerProvider = "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    public static IHostApplicationBuilder AddUnsubscribeSync(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApplicationInsightsTelemetryWorkerService();
        builder.Services.ConfigureFunctionsApplicationInsights();

        // The Application Insights SDK keeps only Warning and above by default; our Information logs
        // (push outcomes, run summaries) are the operational record, so drop that rule.
        builder.Logging.Services.Configure<LoggerFilterOptions>(options =>
        {
            var rule = options.Rules.FirstOrDefault(r => r.ProviderName == ApplicationInsightsLoggerProvider);
            if (rule is not null)
            {
                options.Rules.Remove(rule);
            }
        });

        // IHttpClientFactory logs every request at Information; URLs are enough at Warning.
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
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
            .Validate(o => o.PreviousSigningSecret is null || !o.PreviousSigningSecret.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase),
                "Webhook:PreviousSigningSecret is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            // Alone it would not turn signing on, and an operator who set it surely meant signatures to be checked.
            .Validate(o => string.IsNullOrEmpty(o.PreviousSigningSecret) || !string.IsNullOrEmpty(o.SigningSecret),
                "Webhook:PreviousSigningSecret is set but Webhook:SigningSecret is not: set the current secret too, or remove both to accept unsigned webhooks.")
            .Validate(o => string.IsNullOrWhiteSpace(o.SenderTimeZone) || WebhookOptions.FindTimeZone(o.SenderTimeZone) is not null,
                "Webhook:SenderTimeZone is not a time zone this machine knows: use an IANA id such as America/Chicago or Europe/Berlin, or remove it to read date-times without an offset as the time of receipt.")
            .ValidateOnStart();
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection("Storage"))
            .Configure(o =>
            {
                o.PushQueue = configuration[StorageOptions.PushQueueSetting] ?? o.PushQueue;
                o.SyncBatchQueue = configuration[StorageOptions.SyncBatchQueueSetting] ?? o.SyncBatchQueue;
                o.ConsentFeedQueue = configuration[StorageOptions.ConsentFeedQueueSetting] ?? o.ConsentFeedQueue;
                o.NotifyQueue = configuration[StorageOptions.NotifyQueueSetting] ?? o.NotifyQueue;
            })
            .ValidateDataAnnotations()
            .Validate(_ => StorageClients.IsConfigured(configuration), StorageClients.NotConfiguredMessage)
            .ValidateOnStart();

        services.TryAddSingleton(_ => StorageClients.FromConfiguration(configuration));
        services.TryAddSingleton<StorageBootstrap>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageBootstrap>());
        services.TryAddSingleton<IConsentFeedQueue, ConsentFeedQueue>();
        services.TryAddSingleton<LedgerStore>();
        services.TryAddSingleton<ILedgerStore>(sp => sp.GetRequiredService<LedgerStore>());
        services.TryAddSingleton<IConsentChangeLog>(sp => sp.GetRequiredService<LedgerStore>());
        services.TryAddSingleton<IConsentFeed, ConsentFeed>();
        services.TryAddSingleton<IAuditLog, AuditLog>();
        services.TryAddSingleton<ILinkOutcomeRecorder, LinkOutcomeRecorder>();
        services.TryAddSingleton<IIntakeRecords, IntakeRecords>();
        services.TryAddSingleton<IPushQueue, PushQueue>();
        services.TryAddSingleton<IIntakeService, IntakeService>();
        services.TryAddSingleton<EventParser>();
        services.TryAddSingleton<WebhookSignatureVerifier>();
        services.TryAddSingleton<WebhookHandler>();

        // The field check keeps its describes in the SyncState table across runs (before AddSalesforce, whose default keeps none).
        services.TryAddSingleton<IFieldCheckStore, FieldCheckTable>();
        services.AddSalesforce(configuration);

        // The client knows only its own options; which field to write is the app's sync setting (Email Opt Out
        // whenever the nightly sync is off, whatever Sync:TargetField says).
        services.AddOptions<OptOutFieldOptions>().Configure<IOptions<SyncOptions>>((fields, sync) =>
        {
            fields.Target = sync.Value.EffectiveTargetField;
            fields.MarketoSalesOptOutField = sync.Value.MarketoSalesOptOutField;
            fields.PersonAccounts = sync.Value.PersonAccounts;
        });
        services.AddHostedService<PushTargetReport>();
        services.TryAddSingleton<IRecordRedirectResolver, RecordRedirectResolver>();
        services.TryAddSingleton<SalesforceWriter>();
        services.TryAddSingleton<PushCoalescer>();
        services.TryAddSingleton<IPushService, PushService>();
        services.AddNightlySync(configuration);
        services.AddConsent(configuration);
        services.AddStatus(configuration);

        // The tamper-evident copy of the audit trail (docs/audit-chain.md).
        services.AddAuditChain(configuration);
        return services;
    }
}
