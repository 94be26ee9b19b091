using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Ledger;

/// <summary>The audit chain against real Azurite blobs: concurrent writers, the verifier, tampering, and interrupted appends.</summary>
public sealed class AuditChainTests : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 11, 28);
    private readonly TestStorage _storage = new();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private readonly AuditChainStorage _chainStorage;

    public AuditChainTests()
    {
        var blobs = new BlobServiceClient(_storage.ConnectionString);
        _chainStorage = new AuditChainStorage(
            blobs.GetBlobContainerClient("chain-" + _suffix), _storage.Clients.Tables.GetTableClient("ChainPending" + _suffix));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private AuditChainVerifier Verifier => new(_chainStorage);

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public async ValueTask DisposeAsync()
    {
        await _chainStorage.Container.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        await _chainStorage.Pending.DeleteAsync(CancellationToken.None);
        await _storage.DisposeAsync();
    }

    private AuditChain Writer(int maxLinesPerBlob = 45_000) => new(
        _chainStorage,
        Microsoft.Extensions.Options.Options.Create(new AuditChainOptions { MaxLinesPerBlob = maxLinesPerBlob, MaxAppendAttempts = 1000 }),
        NullLogger<AuditChain>.Instance);

    private static AuditEntity Entry(string eventId, int minute = 0) => new()
    {
        PartitionKey = "key-" + eventId,
        RowKey = AuditLog.EventRowKey(new DateTimeOffset(2026, 11, 28, 9, minute, 0, TimeSpan.Zero), eventId),
        EventId = eventId,
        Type = "unsubscribe",
        Source = "link",
        RecordedAt = new DateTimeOffset(2026, 11, 28, 10, minute, 0, TimeSpan.Zero),
        Outcome = "applied",
    };

    private async Task<List<string>> LinesAsync(string blobName)
    {
        var content = await _chainStorage.ReadAsync(blobName, Ct);
        return [.. Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private async Task RewriteAsync(string blobName, IEnumerable<string> lines)
    {
        // What someone with write access (and no immutability policy, as on Azurite) could do: replace the blob.
        var blob = _chainStorage.Container.GetAppendBlobClient(blobName);
        await blob.DeleteAsync(cancellationToken: Ct);
        await blob.CreateAsync(cancellationToken: Ct);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));
        await blob.AppendBlockAsync(stream, cancellationToken: Ct);
    }

    private async Task AppendAsync(AuditChain writer, AuditEntity entry)
    {
        await writer.MarkPendingAsync(entry, Ct);
        await writer.TryAppendAsync(entry, Ct);
    }

    [Fact]
    public async Task TryAppendAsync_ConcurrentWritersAcrossBlobs_ChainIntactWithEveryEntry()
    {
        // Arrange: four writers with their own view of the blob's end, as four instances would have; a small blob
        // limit makes the day continue in further blobs while they race.
        var writers = Enumerable.Range(0, 4).Select(_ => Writer(maxLinesPerBlob: 25)).ToList();
        var entries = Enumerable.Range(0, 60).Select(i => Entry($"evt-{i}", i % 60)).ToList();

        // Act
        await Task.WhenAll(writers.Select((writer, w) => Task.Run(async () =>
        {
            foreach (var entry in entries.Where((_, i) => i % writers.Count == w))
            {
                await AppendAsync(writer, entry);
            }
        })));
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert
        Assert.Null(result.Break);
        Assert.Equal(60, result.Lines);
        Assert.Equal(3, result.Blobs);
        var ids = new List<string>();
        foreach (var (_, name) in await _chainStorage.SegmentsAsync(Day, Ct))
        {
            ids.AddRange((await LinesAsync(name)).Select(l => AuditChainFormat.Parse(Encoding.UTF8.GetBytes(l))!.EntryId));
        }

        Assert.Equal(entries.Select(e => AuditChainFormat.IdOf(e.PartitionKey, e.RowKey)).Order(), ids.Order());
        Assert.Empty(await _chainStorage.Pending.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task TryAppendAsync_EntriesArriveWhileAnAppendIsInFlight_ChainedTogetherInOneAppendPerBlob()
    {
        // Arrange: the first append is held in flight until 49 more entries are waiting behind it; blobs take 30 lines.
        using var gate = new HeldAppend();
        var blobs = new BlobServiceClient(_storage.ConnectionString, gate.Options());
        var storage = new AuditChainStorage(blobs.GetBlobContainerClient("chain-" + _suffix), _chainStorage.Pending);
        var writer = new AuditChain(
            storage, Microsoft.Extensions.Options.Options.Create(new AuditChainOptions { MaxLinesPerBlob = 30, MaxAppendAttempts = 1000 }), NullLogger<AuditChain>.Instance);
        var entries = Enumerable.Range(0, 50).Select(i => Entry($"grouped-{i}", i)).ToList();
        foreach (var entry in entries)
        {
            await writer.MarkPendingAsync(entry, Ct);
        }

        // Act: the first goes out alone; the rest queue behind it (each call queues its line before it first awaits).
        var first = writer.TryAppendAsync(entries[0], Ct);
        await gate.InFlight.WaitAsync(Ct);
        var rest = entries.Skip(1).Select(e => writer.TryAppendAsync(e, Ct)).ToList();
        gate.Release();
        await Task.WhenAll([first, .. rest]);
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert: 50 lines chained in order of arrival in three appends (1, then 29 to fill the blob, then 20 in the next).
        Assert.Null(result.Break);
        Assert.Equal((50, 2), (result.Lines, result.Blobs));
        Assert.Equal(3, gate.Appends);
        var lines = new List<string>();
        foreach (var (_, name) in await _chainStorage.SegmentsAsync(Day, Ct))
        {
            lines.AddRange(await LinesAsync(name));
        }

        Assert.Equal(entries.Select(e => AuditChainFormat.IdOf(e.PartitionKey, e.RowKey)), lines.Select(l => AuditChainFormat.Parse(Encoding.UTF8.GetBytes(l))!.EntryId));
        Assert.Empty(await _chainStorage.Pending.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task VerifyAsync_FirstLineOfDay_ChainsToDocumentedGenesis()
    {
        // Arrange
        await AppendAsync(Writer(), Entry("first"));

        // Act
        var line = Assert.Single(await LinesAsync(AuditChainFormat.BlobName(Day, 0)));

        // Assert
        var parsed = AuditChainFormat.Parse(Encoding.UTF8.GetBytes(line))!;
        Assert.Equal(1, parsed.Sequence);
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("UnsubscribeSync audit chain genesis 2026-11-28"))),
            parsed.Previous);
        Assert.True((await Verifier.VerifyAsync(Day, Ct)).Intact);
    }

    [Fact]
    public async Task VerifyAsync_EditedLine_ReportsBreakOnTheLineAfterIt()
    {
        // Arrange
        var writer = Writer();
        for (var i = 0; i < 5; i++)
        {
            await AppendAsync(writer, Entry($"evt-{i}", i));
        }

        var blobName = AuditChainFormat.BlobName(Day, 0);
        var lines = await LinesAsync(blobName);
        var original = AuditChainFormat.HashOf(Encoding.UTF8.GetBytes(lines[2]));
        lines[2] = lines[2].Replace("\"outcome\":\"applied\"", "\"outcome\":\"superseded\"", StringComparison.Ordinal);
        await RewriteAsync(blobName, lines);

        // Act
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert
        var broken = Assert.IsType<AuditChainBreak>(result.Break);
        Assert.Equal(blobName, broken.Blob);
        Assert.Equal(4, broken.Line);
        Assert.Equal(AuditChainFormat.HashOf(Encoding.UTF8.GetBytes(lines[2])), broken.Expected);
        Assert.Equal(original, broken.Actual);
        Assert.Equal(3, result.Lines);
    }

    [Fact]
    public async Task VerifyAsync_DeletedLine_ReportsBreakWhereItWas()
    {
        // Arrange
        var writer = Writer();
        for (var i = 0; i < 5; i++)
        {
            await AppendAsync(writer, Entry($"evt-{i}", i));
        }

        var blobName = AuditChainFormat.BlobName(Day, 0);
        var lines = await LinesAsync(blobName);
        var removed = lines[2];
        lines.RemoveAt(2);
        await RewriteAsync(blobName, lines);

        // Act
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert
        var broken = Assert.IsType<AuditChainBreak>(result.Break);
        Assert.Equal(3, broken.Line);
        Assert.Equal(AuditChainFormat.HashOf(Encoding.UTF8.GetBytes(lines[1])), broken.Expected);
        Assert.Equal(AuditChainFormat.HashOf(Encoding.UTF8.GetBytes(removed)), broken.Actual);
    }

    [Fact]
    public async Task VerifyAsync_NoChainForTheDay_IntactWithNoLines()
    {
        // Act
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert
        Assert.True(result.Intact);
        Assert.Equal(0, result.Lines);
        Assert.Equal(AuditChainFormat.Genesis(Day), result.LastHash);
    }

    [Fact]
    public async Task RepairAsync_CrashAfterAuditRowBeforeLine_AppendsTheMissingLineOnce()
    {
        // Arrange: the process dies after the Audit row is written and before its line is appended.
        var writer = Writer();
        await AppendAsync(writer, Entry("before"));
        var crashing = new AuditLog(_storage.Clients, _storage.Options, new CrashBeforeAppend(writer));
        var lost = Entry("lost", 5);
        await crashing.AppendAsync(lost, Ct);
        await AppendAsync(writer, Entry("after", 6));

        // Act
        var repaired = await writer.RepairAsync(Day, Ct);
        var again = await writer.RepairAsync(Day, Ct);
        var result = await Verifier.VerifyAsync(Day, Ct);

        // Assert
        Assert.Equal(1, repaired);
        Assert.Equal(0, again);
        Assert.True(result.Intact);
        Assert.Equal(3, result.Lines);
        var last = (await LinesAsync(AuditChainFormat.BlobName(Day, 0)))[^1];
        Assert.Equal(AuditChainFormat.IdOf(lost.PartitionKey, lost.RowKey), AuditChainFormat.Parse(Encoding.UTF8.GetBytes(last))!.EntryId);
        Assert.Single(await _storage.Audit.ReadAsync(lost.PartitionKey, Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task AppendAsync_SameEntryRetried_ChainsItOnce()
    {
        // Arrange
        var audit = new AuditLog(_storage.Clients, _storage.Options, Writer());
        var entry = Entry("retried");

        // Act: the second attempt finds the Audit row and leaves the line to the repair, which finds it chained.
        await audit.AppendAsync(entry, Ct);
        await audit.AppendAsync(Entry("retried"), Ct);
        var repaired = await Writer().RepairAsync(Day, Ct);

        // Assert
        Assert.Equal(0, repaired);
        Assert.Equal(1, (await Verifier.VerifyAsync(Day, Ct)).Lines);
        Assert.Empty(await _chainStorage.Pending.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task CheckAsync_ChainOfTheDay_SummaryNamesLinesAndBreak()
    {
        // Arrange
        var writer = Writer();
        await AppendAsync(writer, Entry("a"));
        await AppendAsync(writer, Entry("b", 1));
        var check = new AuditChainCheck(writer, Verifier, NullLogger<AuditChainCheck>.Instance);
        var intact = await check.CheckAsync(Day, Ct);
        var blobName = AuditChainFormat.BlobName(Day, 0);
        var lines = await LinesAsync(blobName);
        await RewriteAsync(blobName, [lines[1]]);

        // Act
        var broken = await check.CheckAsync(Day, Ct);

        // Assert
        Assert.True(intact.Verified);
        Assert.True(intact.Intact);
        Assert.Equal(2, intact.Lines);
        Assert.Equal("2026-11-28", intact.Day);
        Assert.False(broken.Intact);
        Assert.Contains($"{blobName} line 1", broken.Break, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_LastLineDamagedWithEntriesPending_ReportsBreakInsteadOfThrowing()
    {
        // Arrange: the last line is no longer a chain line, so no writer can chain to it; an entry waits for the repair.
        var writer = Writer();
        await AppendAsync(writer, Entry("a"));
        var blobName = AuditChainFormat.BlobName(Day, 0);
        var lines = await LinesAsync(blobName);
        await RewriteAsync(blobName, [lines[0], "not json"]);
        var fresh = Writer();
        await fresh.MarkPendingAsync(Entry("waiting", 2), Ct);
        var check = new AuditChainCheck(fresh, Verifier, NullLogger<AuditChainCheck>.Instance);

        // Act
        var summary = await check.CheckAsync(Day, Ct);

        // Assert
        Assert.Equal((true, (bool?)false, 1L), (summary.Verified, summary.Intact, summary.Lines));
        Assert.Contains($"{blobName} line 2", summary.Break, StringComparison.Ordinal);
        Assert.StartsWith("repair failed", summary.Error, StringComparison.Ordinal);
        Assert.Single(await _chainStorage.Pending.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct));
    }

    /// <summary>Marks the entry pending as the real chain does, then "crashes": the line is never appended.</summary>
    private sealed class CrashBeforeAppend(IAuditChain inner) : IAuditChain
    {
        public Task MarkPendingAsync(AuditEntity entry, CancellationToken cancellationToken) => inner.MarkPendingAsync(entry, cancellationToken);

        public Task TryAppendAsync(AuditEntity entry, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<int> RepairAsync(DateOnly day, CancellationToken cancellationToken) => inner.RepairAsync(day, cancellationToken);
    }

    /// <summary>Holds the first append-block request until released, and counts every append sent.</summary>
    private sealed class HeldAppend : Azure.Core.Pipeline.HttpPipelinePolicy, IDisposable
    {
        private readonly SemaphoreSlim _released = new(0);
        private int _appends;

        public SemaphoreSlim InFlight { get; } = new(0);

        public int Appends => Volatile.Read(ref _appends);

        public BlobClientOptions Options()
        {
            var options = new BlobClientOptions();
            options.AddPolicy(this, Azure.Core.HttpPipelinePosition.PerCall);
            return options;
        }

        public void Release() => _released.Release();

        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Uri.Query.Contains("comp=appendblock", StringComparison.Ordinal) && Interlocked.Increment(ref _appends) == 1)
            {
                InFlight.Release();
                await _released.WaitAsync(message.CancellationToken);
            }

            await ProcessNextAsync(message, pipeline);
        }

        public void Dispose()
        {
            _released.Dispose();
            InFlight.Dispose();
        }
    }
}
