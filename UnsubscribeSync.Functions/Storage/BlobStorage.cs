using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// The Blob service client, from the same <c>AzureWebJobsStorage</c> settings as <see cref="StorageClients"/>: a
/// connection string locally, or <c>__accountName</c> / <c>__blobServiceUri</c> with the identity in Azure.
/// </summary>
public static class BlobStorage
{
    /// <summary>Builds the client from configuration.</summary>
    /// <exception cref="InvalidOperationException">The storage settings are missing or incomplete; the message names the setting.</exception>
    public static BlobServiceClient FromConfiguration(IConfiguration configuration)
    {
        var connectionString = configuration[StorageClients.ConnectionSetting];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new BlobServiceClient(connectionString, Options());
        }

        var section = configuration.GetSection(StorageClients.ConnectionSetting);
        var accountName = section["accountName"];
        var blobUri = section["blobServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.blob.core.windows.net");
        if (blobUri is null)
        {
            throw new InvalidOperationException(
                "AzureWebJobsStorage has no blob endpoint for the audit chain: set a connection string, AzureWebJobsStorage__accountName "
                + "or AzureWebJobsStorage__blobServiceUri.");
        }

        return new BlobServiceClient(new Uri(blobUri), StorageClients.CreateCredential(section["credential"], section["clientId"]), Options());
    }

    // Same short retries as the table and queue clients: an audit append sits on the webhook's path.
    private static BlobClientOptions Options()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }
}
