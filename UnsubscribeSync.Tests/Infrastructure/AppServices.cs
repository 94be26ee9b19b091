using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Hosting;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// The app's real composition root (<c>AddUnsubscribeSync</c>) over test storage and the Salesforce
/// sandbox, with Salesforce retries shortened so fault tests run in seconds.
/// </summary>
public static class AppServices
{
    public static Dictionary<string, string?> Settings(TestStorage storage, SalesforceSandboxFixture? sandbox) => new()
    {
        ["AzureWebJobsStorage"] = storage.ConnectionString,
        ["Storage:LedgerTable"] = storage.Names.LedgerTable,
        ["Storage:AuditTable"] = storage.Names.AuditTable,
        ["Storage:IntakeTable"] = storage.Names.IntakeTable,
        ["Storage:SyncRunsTable"] = storage.Names.SyncRunsTable,
        ["Storage:SyncStateTable"] = storage.Names.SyncStateTable,
        ["Storage:ConsentFeedTable"] = storage.Names.ConsentFeedTable,
        ["PushQueueName"] = storage.Names.PushQueue,
        ["SyncBatchQueueName"] = storage.Names.SyncBatchQueue,
        ["ConsentFeedQueueName"] = storage.Names.ConsentFeedQueue,
        ["NotifyQueueName"] = storage.Names.NotifyQueue,
        ["NightlySyncSchedule"] = "0 0 4 * * *",
        // Issue 15: each test's own audit chain, beside its own Audit table.
        ["AuditChain:Container"] = storage.Names.AuditTable.ToLowerInvariant(),
        ["AuditChain:PendingTable"] = storage.Names.AuditTable + "Pending",
        // Without a sandbox, Salesforce settings are valid but unused (tests that never reach Salesforce).
        ["Salesforce:LoginUrl"] = sandbox?.BaseAddress.ToString() ?? "https://example.my.salesforce.com",
        ["Salesforce:ClientId"] = sandbox?.ClientId ?? "unused",
        ["Salesforce:ClientSecret"] = sandbox?.ClientSecret ?? "unused",
        ["Salesforce:MaxRetryAttempts"] = "2",
        ["Salesforce:RetryBaseDelay"] = "00:00:00.010",
        ["Salesforce:AttemptTimeout"] = "00:00:10",
        ["Salesforce:TotalTimeout"] = "00:00:30",
    };

    /// <summary>
    /// Builds the service provider; <paramref name="overrides"/> replace or add settings (null removes one), and
    /// <paramref name="configureServices"/> registers before the app does (the app's registrations do not replace them).
    /// </summary>
    public static ServiceProvider Build(
        TestStorage storage, SalesforceSandboxFixture? sandbox, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        var settings = Settings(storage, sandbox);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        configureServices?.Invoke(services);
        services.AddUnsubscribeSync(configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}
