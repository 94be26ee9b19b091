using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>How far the intake of one event got; a retry resumes from here.</summary>
public enum IntakeStage
{
    Received,
    Queued,
}

/// <summary>
/// The idempotency record of one event id. <see cref="Stage"/> lets a retry finish what a failed
/// attempt began instead of calling it a duplicate; <see cref="EventJson"/> lets the nightly sync
/// finish it if the caller never retries.
/// </summary>
public sealed class IntakeRecordEntity : ITableEntity
{
    public const string RowKeyValue = "event";

    public string PartitionKey { get; set; } = string.Empty;
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string EventId { get; set; } = string.Empty;

    public string EmailKey { get; set; } = string.Empty;

    public string Stage { get; set; } = nameof(IntakeStage.Received);

    public DateTimeOffset ReceivedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The normalized event, to re-drive an intake that stopped half-way.</summary>
    public string EventJson { get; set; } = string.Empty;

    public IntakeStage IntakeStage => Enum.Parse<IntakeStage>(Stage);
}

/// <summary>Idempotency records keyed by event id.</summary>
public interface IIntakeRecords
{
    /// <summary>Creates the record, or returns the one an earlier attempt created.</summary>
    Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken);

    Task MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken);

    /// <summary>Records that stopped before being queued and are older than <paramref name="olderThan"/>.</summary>
    IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed class IntakeRecords(StorageClients clients, IOptions<StorageOptions> options) : IIntakeRecords
{
    private TableClient Table => clients.Tables.GetTableClient(options.Value.IntakeTable);

    /// <summary>The table key of an event id: ids may hold characters table keys cannot.</summary>
    public static string KeyOf(string eventId) => StableKey.Of(eventId);

    public async Task<IntakeRecordEntity> GetOrAddAsync(IntakeRecordEntity record, CancellationToken cancellationToken)
    {
        // Insert first: a new event (the common case) costs one request; only a repeat pays for the read.
        try
        {
            var response = await Table.AddEntityAsync(record, cancellationToken);
            record.ETag = response.Headers.ETag ?? record.ETag;
            return record;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            var existing = await Table.GetEntityAsync<IntakeRecordEntity>(record.PartitionKey, record.RowKey, cancellationToken: cancellationToken);
            return existing.Value;
        }
    }

    public async Task MarkQueuedAsync(IntakeRecordEntity record, DateTimeOffset completedAt, CancellationToken cancellationToken)
    {
        record.Stage = nameof(IntakeStage.Queued);
        record.CompletedAt = completedAt;
        await Table.UpdateEntityAsync(record, ETag.All, TableUpdateMode.Merge, cancellationToken);
    }

    public async IAsyncEnumerable<IntakeRecordEntity> FindUnfinishedAsync(DateTimeOffset olderThan, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var queued = nameof(IntakeStage.Queued);
        var filter = TableClient.CreateQueryFilter($"Stage ne {queued} and ReceivedAt lt {olderThan}");
        await foreach (var record in Table.QueryAsync<IntakeRecordEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return record;
        }
    }
}
