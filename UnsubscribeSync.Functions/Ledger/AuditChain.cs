using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>Appends audit entries to the day's hash chain (docs/audit-chain.md).</summary>
public interface IAuditChain
{
    /// <summary>
    /// Records the intent to chain <paramref name="entry"/> (a pending row). Called before the Audit row is written, so a
    /// crash after that write leaves the pending row behind for <see cref="RepairAsync"/>, never a silent gap.
    /// </summary>
    Task MarkPendingAsync(AuditEntity entry, CancellationToken cancellationToken);

    /// <summary>Appends the entry's line and clears its pending row. A failure is logged, not thrown: the pending row stays.</summary>
    Task TryAppendAsync(AuditEntity entry, CancellationToken cancellationToken);

    /// <summary>Appends the line of every pending row of <paramref name="day"/> that the chain lacks, then clears the rows.</summary>
    /// <returns>How many lines were appended.</returns>
    Task<int> RepairAsync(DateOnly day, CancellationToken cancellationToken);
}

/// <summary>
/// The writer. Many workers append to one blob at once, so every append is conditional on the blob's end being where
/// this writer last saw it (<c>If-Match</c> ETag and <c>x-ms-blob-condition-appendpos</c>): a writer that lost the race
/// gets 412, reads the blob's last line again and retries with the new <c>prev</c>. Within one process the lines of a
/// day go out one append at a time, so the race is only between instances; entries that arrive while an append is in
/// flight are chained together into the next one (a group commit), so a burst of entries costs a few appends instead
/// of one serialised round trip each. A blob that holds <see cref="AuditChainOptions.MaxLinesPerBlob"/> lines is
/// closed and the day goes on in the next one.
/// </summary>
public sealed partial class AuditChain(AuditChainStorage storage, IOptions<AuditChainOptions> options, ILogger<AuditChain> logger) : IAuditChain
{
    private const string BlockCountExceedsLimit = "BlockCountExceedsLimit";
    private const int TailWindow = 8 * 1024;

    // One append block stays far below the service's 4 MiB block limit and a request a slow link can carry.
    private const int MaxGroupLines = 256;
    private const int MaxGroupBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<DateOnly, Tail> _tails = new();
    private readonly ConcurrentDictionary<DateOnly, DayAppends> _days = new();

    // A closed segment never changes, so where it ends (the sequence the next segment starts after) is read once.
    private readonly ConcurrentDictionary<(DateOnly Day, int Segment), long> _segmentEnds = new();

    public async Task MarkPendingAsync(AuditEntity entry, CancellationToken cancellationToken)
    {
        var id = AuditChainFormat.IdOf(entry.PartitionKey, entry.RowKey);
        var row = new AuditChainPendingEntity
        {
            PartitionKey = AuditChainFormat.DayName(AuditChainFormat.DayOf(entry)),
            RowKey = StableKey.Of(id),
            EntryId = id,
            EntryJson = AuditChainFormat.EntryJson(entry),
        };
        try
        {
            await storage.Pending.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            await storage.Pending.CreateIfNotExistsAsync(cancellationToken);
            await storage.Pending.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
        }
    }

    public async Task TryAppendAsync(AuditEntity entry, CancellationToken cancellationToken)
    {
        var day = AuditChainFormat.DayOf(entry);
        try
        {
            await AppendLineAsync(day, AuditChainFormat.EntryJson(entry), cancellationToken);
            await storage.Pending.DeleteEntityAsync(
                AuditChainFormat.DayName(day), StableKey.Of(AuditChainFormat.IdOf(entry.PartitionKey, entry.RowKey)), ETag.All, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The entry is in the Audit table and its pending row is kept: the nightly repair appends the line.
            Log.AppendFailed(logger, ex, AuditChainFormat.DayName(day));
        }
    }

    public async Task<int> RepairAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var dayName = AuditChainFormat.DayName(day);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {dayName}");
        var pending = new List<AuditChainPendingEntity>();
        try
        {
            await foreach (var row in storage.Pending.QueryAsync<AuditChainPendingEntity>(filter, cancellationToken: cancellationToken))
            {
                pending.Add(row);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }

        if (pending.Count == 0)
        {
            return 0;
        }

        // A pending row is left by a crash before the line was appended, after it (before the row was cleared), or by a
        // retried entry: only lines the chain does not hold yet are appended, so a repair never duplicates one.
        var chained = await ChainedIdsAsync(day, cancellationToken);
        var appended = 0;
        foreach (var row in pending)
        {
            if (chained.Add(row.EntryId))
            {
                await AppendLineAsync(day, row.EntryJson, cancellationToken);
                appended++;
            }

            await storage.Pending.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
        }

        if (appended > 0)
        {
            Log.Repaired(logger, dayName, appended);
        }

        return appended;
    }

    private async Task<HashSet<string>> ChainedIdsAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, name) in await storage.SegmentsAsync(day, cancellationToken))
        {
            var content = await storage.ReadAsync(name, cancellationToken);
            foreach (var line in AuditChainVerifier.Lines(content))
            {
                if (AuditChainFormat.Parse(content.AsSpan(line.Start, line.Length)) is { } parsed)
                {
                    ids.Add(parsed.EntryId);
                }
            }
        }

        return ids;
    }

    /// <summary>
    /// Chains <paramref name="entryJson"/> into the day's blob. The caller that finds no append in flight starts the
    /// day's writer, which appends whatever is waiting, group by group, until nothing is; every caller completes when
    /// the append carrying its line has (or has failed).
    /// </summary>
    private Task AppendLineAsync(DateOnly day, string entryJson, CancellationToken cancellationToken)
    {
        var appends = _days.GetOrAdd(day, _ => new DayAppends());
        var waiting = new WaitingLine(entryJson);
        bool start;
        lock (appends.Gate)
        {
            appends.Waiting.Add(waiting);
            start = !appends.Writing;
            appends.Writing = true;
        }

        if (start)
        {
            _ = Task.Run(() => WriteDayAsync(day, appends), CancellationToken.None);
        }

        // A caller that gives up leaves its line queued: it is appended and its pending row cleared, or the repair does it.
        return waiting.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task WriteDayAsync(DateOnly day, DayAppends appends)
    {
        while (true)
        {
            List<WaitingLine> group;
            lock (appends.Gate)
            {
                if (appends.Waiting.Count == 0)
                {
                    appends.Writing = false;
                    return;
                }

                group = TakeGroup(appends.Waiting);
            }

            try
            {
                // No caller's token cancels an append others share; the blob client's own timeouts bound it.
                await AppendGroupAsync(day, group, CancellationToken.None);
                group.ForEach(w => w.Done.TrySetResult());
            }
            catch (Exception ex)
            {
                group.ForEach(w => w.Done.TrySetException(ex));
            }
        }
    }

    private static List<WaitingLine> TakeGroup(List<WaitingLine> waiting)
    {
        var count = 0;
        var bytes = 0;
        while (count < waiting.Count && count < MaxGroupLines && (count == 0 || bytes + waiting[count].EntryJson.Length < MaxGroupBytes))
        {
            bytes += waiting[count].EntryJson.Length;
            count++;
        }

        var group = waiting.GetRange(0, count);
        waiting.RemoveRange(0, count);
        return group;
    }

    /// <summary>Appends the group's lines, chained one after the other, in as few appends as the blob limit allows.</summary>
    private async Task AppendGroupAsync(DateOnly day, List<WaitingLine> group, CancellationToken cancellationToken)
    {
        try
        {
            var tail = _tails.TryGetValue(day, out var known) ? known : await ReadCurrentTailAsync(day, cancellationToken);
            var limit = options.Value.MaxLinesPerBlob;
            var next = 0;
            var attempt = 0;
            while (next < group.Count)
            {
                if (++attempt > options.Value.MaxAppendAttempts)
                {
                    throw new InvalidOperationException(
                        $"The audit chain of {AuditChainFormat.DayName(day)} kept moving: no append after {options.Value.MaxAppendAttempts} attempts.");
                }

                var room = tail.Full ? 0 : limit - (int)Math.Min(limit, tail.Sequence - tail.SegmentStart);
                if (room == 0)
                {
                    tail = await OpenNextAsync(day, tail, cancellationToken);
                    continue;
                }

                // Each line chains to the one before it, within the block as across blocks.
                var take = Math.Min(room, group.Count - next);
                using var block = new MemoryStream();
                var (sequence, hash) = (tail.Sequence, tail.Hash);
                for (var i = 0; i < take; i++)
                {
                    var line = AuditChainFormat.Line(sequence + 1, hash, group[next + i].EntryJson);
                    block.Write(line);
                    block.WriteByte((byte)'\n');
                    (sequence, hash) = (sequence + 1, AuditChainFormat.HashOf(line));
                }

                try
                {
                    block.Position = 0;
                    var appended = await storage.Blob(day, tail.Segment).AppendBlockAsync(
                        block,
                        new AppendBlobAppendBlockOptions
                        {
                            Conditions = new AppendBlobRequestConditions { IfMatch = tail.ETag, IfAppendPositionEqual = tail.Length },
                        },
                        cancellationToken);
                    tail = tail with { Length = tail.Length + block.Length, ETag = appended.Value.ETag, Sequence = sequence, Hash = hash };
                    _tails[day] = tail;
                    next += take;
                    attempt = 0;
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                    // Another writer appended first: its line is now the one to chain to.
                    tail = await ReadTailAsync(day, tail.Segment, cancellationToken);
                }
                catch (RequestFailedException ex) when (ex.ErrorCode == BlockCountExceedsLimit)
                {
                    tail = tail with { Full = true };
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    // The container or blob went missing under us (a fresh account): create and read again.
                    tail = await ReadTailAsync(day, tail.Segment, cancellationToken);
                }
            }
        }
        catch
        {
            // Whatever went wrong, the next append starts from what the blob says, not from this writer's memory.
            _tails.TryRemove(day, out _);
            throw;
        }
    }

    private async Task<Tail> ReadCurrentTailAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var segments = await storage.SegmentsAsync(day, cancellationToken);
        return await ReadTailAsync(day, segments.Count == 0 ? 0 : segments[^1].Segment, cancellationToken);
    }

    private async Task<Tail> OpenNextAsync(DateOnly day, Tail full, CancellationToken cancellationToken)
    {
        var next = storage.Blob(day, full.Segment + 1);
        try
        {
            await next.CreateAsync(new AppendBlobCreateOptions { Conditions = new AppendBlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Another writer opened it first.
        }

        return await ReadTailAsync(day, full.Segment + 1, cancellationToken);
    }

    /// <summary>Reads where a blob ends and the hash and number of its last line (or, for an empty blob, of the chain before it).</summary>
    private async Task<Tail> ReadTailAsync(DateOnly day, int segment, CancellationToken cancellationToken)
    {
        var blob = storage.Blob(day, segment);
        while (true)
        {
            BlobProperties properties;
            try
            {
                properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                await storage.Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                continue;
            }

            var length = properties.ContentLength;
            if (length == 0)
            {
                var before = segment == 0
                    ? new Tail(0, 0, default, 0, AuditChainFormat.Genesis(day), 0)
                    : await ReadTailAsync(day, segment - 1, cancellationToken);
                return new Tail(segment, 0, properties.ETag, before.Sequence, before.Hash, before.Sequence);
            }

            var window = Math.Min(length, TailWindow);
            while (true)
            {
                byte[] bytes;
                try
                {
                    var content = await blob.DownloadContentAsync(
                        new BlobDownloadOptions { Range = new HttpRange(length - window, window), Conditions = new BlobRequestConditions { IfMatch = properties.ETag } },
                        cancellationToken);
                    bytes = content.Value.Content.ToArray();
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                    break;
                }

                // The content ends with the last line's newline; the line starts after the newline before it.
                var end = bytes.Length > 0 && bytes[^1] == (byte)'\n' ? bytes.Length - 1 : bytes.Length;
                var start = Array.LastIndexOf(bytes, (byte)'\n', Math.Max(end - 1, 0)) + 1;
                if (start == 0 && window < length)
                {
                    window = Math.Min(length, window * 4);
                    continue;
                }

                var last = bytes.AsSpan(start, end - start);
                var parsed = AuditChainFormat.Parse(last)
                    ?? throw new InvalidDataException($"The last line of {blob.Name} is not an audit chain line; run the verifier.");
                return new Tail(segment, length, properties.ETag, parsed.Sequence, AuditChainFormat.HashOf(last), await SegmentStartAsync(day, segment, cancellationToken));
            }
        }
    }

    /// <summary>The sequence of the last line before <paramref name="segment"/>: its lines are those numbered after it.</summary>
    private async Task<long> SegmentStartAsync(DateOnly day, int segment, CancellationToken cancellationToken)
    {
        if (segment == 0)
        {
            return 0;
        }

        if (_segmentEnds.TryGetValue((day, segment - 1), out var end))
        {
            return end;
        }

        end = (await ReadTailAsync(day, segment - 1, cancellationToken)).Sequence;
        _segmentEnds[(day, segment - 1)] = end;
        return end;
    }

    /// <summary>
    /// Where a writer believes the day's chain ends. <see cref="SegmentStart"/> is the sequence before the blob's first
    /// line, so the blob holds <c>Sequence - SegmentStart</c> lines; <see cref="Full"/> when Azure refused more appends.
    /// </summary>
    private sealed record Tail(int Segment, long Length, ETag ETag, long Sequence, string Hash, long SegmentStart, bool Full = false);

    private sealed class DayAppends
    {
        public Lock Gate { get; } = new();

        public List<WaitingLine> Waiting { get; } = [];

        public bool Writing { get; set; }
    }

    private sealed class WaitingLine(string entryJson)
    {
        public string EntryJson { get; } = entryJson;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 470, Level = LogLevel.Warning, Message = "An audit entry of {Day} is in the Audit table but its audit chain line could not be appended; it stays pending for the nightly repair")]
        public static partial void AppendFailed(ILogger logger, Exception exception, string day);

        [LoggerMessage(EventId = 471, Level = LogLevel.Warning, Message = "Audit chain {Day}: {Count} pending entries had no line (an interrupted append) and were appended now")]
        public static partial void Repaired(ILogger logger, string day, int count);
    }
}
