using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// The Table and Queue service clients the app creates itself. They read the same
/// <c>AzureWebJobsStorage</c> settings the triggers use: a connection string locally, or the
/// identity-based form (<c>AzureWebJobsStorage__accountName</c> / <c>__tableServiceUri</c> /
/// <c>__queueServiceUri</c>, <c>__credential</c>, <c>__clientId</c>) in Azure.
/// </summary>
public sealed class StorageClients(TableServiceClient tables, QueueServiceClient queues)
{
    public const string ConnectionSetting = "AzureWebJobsStorage";

    public const string NotConfiguredMessage =
        "AzureWebJobsStorage is not configured: set a connection string (UseDevelopmentStorage=true locally) "
        + "or AzureWebJobsStorage__accountName (or __tableServiceUri and __queueServiceUri) for identity-based access.";

    /// <summary>Whether either form of the storage settings is present.</summary>
    public static bool IsConfigured(IConfiguration configuration)
    {
        var section = configuration.GetSection(ConnectionSetting);
        return !string.IsNullOrWhiteSpace(configuration[ConnectionSetting])
            || !string.IsNullOrWhiteSpace(section["accountName"])
            || (!string.IsNullOrWhiteSpace(section["tableServiceUri"]) && !string.IsNullOrWhiteSpace(section["queueServiceUri"]));
    }

    public TableServiceClient Tables { get; } = tables;

    public QueueServiceClient Queues { get; } = queues;

    /// <summary>Builds the clients from configuration.</summary>
    /// <exception cref="InvalidOperationException">The storage settings are missing or incomplete; the message names the setting.</exception>
    public static StorageClients FromConfiguration(IConfiguration configuration)
    {
        var connectionString = configuration[ConnectionSetting];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return FromConnectionString(connectionString);
        }

        var section = configuration.GetSection(ConnectionSetting);
        var accountName = section["accountName"];
        var tableUri = section["tableServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.table.core.windows.net");
        var queueUri = section["queueServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.queue.core.windows.net");
        if (tableUri is null || queueUri is null)
        {
            throw new InvalidOperationException(NotConfiguredMessage);
        }

        var credential = CreateCredential(section["credential"], section["clientId"]);
        return new StorageClients(
            new TableServiceClient(new Uri(tableUri), credential, TableOptions()),
            new QueueServiceClient(new Uri(queueUri), credential, QueueOptions()));
    }

    /// <summary>Builds the clients from a storage connection string.</summary>
    public static StorageClients FromConnectionString(string connectionString)
    {
        return new StorageClients(
            new TableServiceClient(connectionString, TableOptions()),
            new QueueServiceClient(connectionString, QueueOptions()));
    }

    internal static TokenCredential CreateCredential(string? kind, string? clientId)
    {
        if (string.Equals(kind, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return string.IsNullOrEmpty(clientId)
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }

        return new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }

    // A webhook must answer (503) within seconds when storage is down, not after the SDK's
    // default 100-second network timeout and exponential retries.
    private static TableClientOptions TableOptions()
    {
        var options = new TableClientOptions();
        ConfigureRetry(options.Retry);
        return options;
    }

    private static QueueClientOptions QueueOptions()
    {
        // The queue trigger decodes Base64 by default; the SDK sends plain text unless told.
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        ConfigureRetry(options.Retry);
        return options;
    }

    private static void ConfigureRetry(RetryOptions retry)
    {
        retry.MaxRetries = 2;
        retry.Delay = TimeSpan.FromMilliseconds(200);
        retry.MaxDelay = TimeSpan.FromSeconds(2);
        retry.NetworkTimeout = TimeSpan.FromSeconds(10);
    }
}
