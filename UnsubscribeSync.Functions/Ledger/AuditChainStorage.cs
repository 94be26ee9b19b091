using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>A row of the pending table: an entry in the Audit table whose chain line is not yet known to be written.</summary>
public sealed class AuditChainPendingEntity : ITableEntity
{
    /// <summary>The chain day (yyyy-MM-dd) the line belongs to.</summary>
    public string PartitionKey { get; set; } = string.Empty;

    /// <summary>SHA-256 of the entry's id (Audit partition and row key).</summary>
    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    /// <summary>The entry as its line carries it (<see cref="AuditChainFormat.EntryJson"/>).</summary>
    public string EntryJson { get; set; } = string.Empty;

    /// <summary>The entry's id in the chain, to find whether its line is there.</summary>
    public string EntryId { get; set; } = string.Empty;
}

/// <summary>Where the audit chain lives: the container of daily blobs and the pending table (none for the read-only verifier).</summary>
public sealed class AuditChainStorage(BlobContainerClient container, TableClient? pending = null)
{
    public BlobContainerClient Container { get; } = container;

    public TableClient Pending => pending ?? throw new InvalidOperationException("This audit chain storage is for reading only: it has no pending table.");

    public static AuditChainStorage Create(BlobServiceClient blobs, StorageClients clients, IOptions<AuditChainOptions> options) =>
        new(blobs.GetBlobContainerClient(options.Value.Container), clients.Tables.GetTableClient(options.Value.PendingTable));

    public AppendBlobClient Blob(DateOnly day, int segment) => Container.GetAppendBlobClient(AuditChainFormat.BlobName(day, segment));

    /// <summary>The day's blobs, in chain order.</summary>
    public async Task<IReadOnlyList<(int Segment, string Name)>> SegmentsAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var found = new List<(int, string)>();
        try
        {
            await foreach (var item in Container.GetBlobsAsync(new GetBlobsOptions { Prefix = AuditChainFormat.DayName(day) + "/" }, cancellationToken))
            {
                if (AuditChainFormat.SegmentOf(item.Name) is { } segment)
                {
                    found.Add((segment, item.Name));
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: no chain yet.
        }

        return [.. found.OrderBy(s => s.Item1)];
    }

    /// <summary>The whole content of one of the blobs.</summary>
    public async Task<byte[]> ReadAsync(string blobName, CancellationToken cancellationToken)
    {
        var content = await Container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
        return content.Value.Content.ToArray();
    }
}
