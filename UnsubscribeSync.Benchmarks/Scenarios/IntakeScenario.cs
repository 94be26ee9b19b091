using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>
/// Webhook intake through <see cref="WebhookHandler.HandleAsync"/> on the real DI graph and Azurite,
/// against the bare storage floor: the same events written with the SDK clients directly, with the
/// calls the design needs per event (intake insert, ledger read + transaction, audit insert, queue
/// send, intake update). Floor and intake alternate in rounds; the median round is reported.
/// </summary>
public sealed class IntakeScenario(BenchOptions options, BenchReport report, TextWriter log)
{
    public const double TargetRatio = 1.3;

    // IntakeService works on up to 8 addresses of one request at a time; the floor does the same.
    private const int IntakeParallelism = 8;

    private static readonly DateTimeOffset OccurredAt = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public async Task<ScenarioResult> RunAsync(CancellationToken ct)
    {
        var result = new ScenarioResult("intake", "1. Webhook intake");
        var started = Stopwatch.GetTimestamp();
        await using var app = BenchApp.Create(options.StorageConnectionString);
        await app.StartAsync(ct);
        var handler = app.Services.GetRequiredService<WebhookHandler>();
        var floor = new StorageFloor(app);
        await floor.CreateAsync(ct);

        // Warm both paths (tables created, connections open, JIT) outside the measurement.
        var warm = options.IsSmoke ? 8 : 100;
        await RunIntakeAsync(app, handler, Generate("warm", warm), 1, options.SingleEventConcurrency, ct);
        await floor.RunAsync(Generate("warmfloor", warm), 1, options.SingleEventConcurrency, ct);

        var modes = new[]
        {
            (Name: "Single events", Events: options.SingleEventRequests, PerRequest: 1, Concurrency: options.SingleEventConcurrency, Slice: options.IntakeSliceRequests * 1),
            (Name: $"Batches of {options.BatchSize}", Events: options.BatchRequests * options.BatchSize, PerRequest: options.BatchSize, Concurrency: 1, Slice: options.BatchSize),
        };

        foreach (var mode in modes)
        {
            // Intake and floor take turns in small slices, so background load on a shared machine hits both alike.
            var intakeSlices = new List<RunResult>();
            var floorSlices = new List<RunResult>();
            var intakeEvents = Generate("in" + mode.PerRequest, mode.Events).Chunk(mode.Slice).ToList();
            var floorEvents = Generate("fl" + mode.PerRequest, mode.Events).Chunk(mode.Slice).ToList();
            for (var slice = 0; slice < intakeEvents.Count; slice++)
            {
                if (slice % 2 == 0)
                {
                    floorSlices.Add(await floor.RunAsync(floorEvents[slice], mode.PerRequest, mode.Concurrency, ct));
                    intakeSlices.Add(await RunIntakeAsync(app, handler, intakeEvents[slice], mode.PerRequest, mode.Concurrency, ct));
                }
                else
                {
                    intakeSlices.Add(await RunIntakeAsync(app, handler, intakeEvents[slice], mode.PerRequest, mode.Concurrency, ct));
                    floorSlices.Add(await floor.RunAsync(floorEvents[slice], mode.PerRequest, mode.Concurrency, ct));
                }
            }

            log.WriteLine($"  intake {mode.Name}: {intakeSlices.Count} slice pairs, intake {Rate(intakeSlices):0} ev/s, floor {Rate(floorSlices):0} ev/s");
            Report(result, mode.Name, mode.PerRequest, intakeSlices, floorSlices);
        }

        // Every accepted event must have reached the push queue (one link each).
        var properties = await app.Clients.Queues.GetQueueClient(app.Names.PushQueue).GetPropertiesAsync(ct);
        var expected = warm + modes.Sum(m => m.Events);
        report.Require(properties.Value.ApproximateMessagesCount == expected,
            $"intake: the push queue holds {properties.Value.ApproximateMessagesCount} messages; {expected} events were accepted");
        result.Notes.Add($"Each event is new (unique id and address) and names a Contact Id, so it writes one ledger state row and one link and queues one push message; "
            + $"{expected} events were accepted and {properties.Value.ApproximateMessagesCount} push messages were found on the queue afterwards.");
        result.Notes.Add($"The handler runs with a signing secret set, so each request's HMAC signature is checked (the sender's signing is done before the clock starts). "
            + $"Single events are sent {options.SingleEventConcurrency} at a time; batches one at a time (the service works on {IntakeParallelism} addresses in parallel, and so does the floor). "
            + $"Intake and floor alternate in slices ({options.IntakeSliceRequests} single-event requests, or one batch request, per slice; the first of each pair alternates too); "
            + "throughput is all events over all time per side, the ratio is the median over slice pairs of intake time / floor time (the spread is given next to it).");
        await floor.DeleteAsync();
        result.Elapsed = Stopwatch.GetElapsedTime(started);
        return result;
    }

    private void Report(ScenarioResult result, string name, int perRequest, List<RunResult> intake, List<RunResult> floor)
    {
        var intakeRate = Rate(intake);
        var floorRate = Rate(floor);
        var pairRatios = intake.Zip(floor, (i, f) => i.Elapsed / f.Elapsed).Order().ToList();
        var ratio = Median(pairRatios);
        var spread = pairRatios.Count > 1 ? $" (pairs {pairRatios[pairRatios.Count / 4]:0.00}–{pairRatios[pairRatios.Count * 3 / 4]:0.00}, interquartile)" : string.Empty;
        var intakeLatency = Pool(intake);
        var floorLatency = Pool(floor);
        var intakeCalls = intake.Sum(r => r.StorageRequests) / (double)intake.Sum(r => r.Events);
        var floorCalls = floor.Sum(r => r.StorageRequests) / (double)floor.Sum(r => r.Events);

        result.Add(new Figure($"{name}: throughput", $"{intakeRate:0} events/s", $"{floorRate:0} events/s", $"{ratio:0.00}x{spread}",
            $"≤ {TargetRatio}x the floor's cost", options.IsSmoke ? null : ratio <= TargetRatio));
        var unit = perRequest == 1 ? "per request" : $"per request of {perRequest}";
        result.Add(new Figure($"{name}: p50 / p99 latency {unit}",
            $"{intakeLatency.Percentile(50):0.0} / {intakeLatency.Percentile(99):0.0} ms",
            $"{floorLatency.Percentile(50):0.0} / {floorLatency.Percentile(99):0.0} ms",
            $"{intakeLatency.Percentile(50) / floorLatency.Percentile(50):0.00}x / {intakeLatency.Percentile(99) / floorLatency.Percentile(99):0.00}x"));
        result.Add(new Figure($"{name}: storage requests per event", $"{intakeCalls:0.00}", $"{floorCalls:0.00}", $"{intakeCalls / floorCalls:0.00}x"));

        report.Require(intake.All(r => r.Events > 0 && r.EventsPerSecond > 0 && double.IsFinite(r.EventsPerSecond)), $"intake {name}: no events processed");
        report.Require(floor.All(r => r.Events > 0 && r.EventsPerSecond > 0 && double.IsFinite(r.EventsPerSecond)), $"intake floor {name}: no events processed");
        report.Require(intakeCalls >= 7 && floorCalls >= 7 - 1e-9, $"intake {name}: {intakeCalls:0.00} / {floorCalls:0.00} storage requests per event is fewer than the 7 the design needs");
        report.Require(intakeLatency.Count > 0 && intakeLatency.Percentile(50) > 0, $"intake {name}: no latencies recorded");
    }

    private static double Rate(IReadOnlyCollection<RunResult> runs) => runs.Sum(r => r.Events) / runs.Sum(r => r.Elapsed.TotalSeconds);

    private static Latencies Pool(IEnumerable<RunResult> runs)
    {
        var all = new Latencies();
        foreach (var run in runs)
        {
            all.AddRange(run.Latencies);
        }

        return all;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private async Task<RunResult> RunIntakeAsync(BenchApp app, WebhookHandler handler, IReadOnlyList<BenchEvent> events, int perRequest, int concurrency, CancellationToken ct)
    {
        // Bodies and signatures are the sender's work: prepared before the clock starts.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var requests = events.Chunk(perRequest).Select(chunk =>
        {
            var body = perRequest == 1 ? chunk[0].ToJson() : "{\"unsubscribes\":[" + string.Join(',', chunk.Select(e => e.ToJson())) + "]}";
            var bytes = Encoding.UTF8.GetBytes(body);
            return (Bytes: bytes, Signature: WebhookSignatureVerifier.CreateHeader(BenchApp.SigningSecret, now, bytes), Count: chunk.Length);
        }).ToList();

        var latencies = new Latencies();
        var accepted = 0;
        var requestsBefore = app.StorageRequests.Count;
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (request, token) =>
        {
            var begin = Stopwatch.GetTimestamp();
            var context = new DefaultHttpContext { RequestServices = app.Services };
            context.Request.Method = "POST";
            context.Request.Path = "/api/unsubscribes";
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = request.Bytes.Length;
            context.Request.Body = new MemoryStream(request.Bytes, writable: false);
            context.Request.Headers[WebhookSignatureVerifier.HeaderName] = request.Signature;
            var response = new MemoryStream();
            context.Response.Body = response;

            var result = await handler.HandleAsync(context.Request, token);
            await result.ExecuteAsync(context);
            latencies.Add(begin);

            if (context.Response.StatusCode != StatusCodes.Status202Accepted)
            {
                throw new InvalidOperationException($"The webhook answered {context.Response.StatusCode}: {Encoding.UTF8.GetString(response.ToArray())}");
            }

            using var json = JsonDocument.Parse(response.ToArray());
            Interlocked.Add(ref accepted, json.RootElement.GetProperty("accepted").GetArrayLength());
        });
        var elapsed = Stopwatch.GetElapsedTime(started);
        report.Require(accepted == events.Count, $"intake: {accepted} of {events.Count} events were accepted");
        return new RunResult(accepted, elapsed, latencies, app.StorageRequests.Count - requestsBefore);
    }

    private static List<BenchEvent> Generate(string tag, int count)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        return Enumerable.Range(0, count).Select(i => new BenchEvent(
            $"evt-{tag}-{run}-{i}",
            $"person{i}.{tag}.{run}@bench.example",
            // 15-character Contact Ids; the checksum suffix is computed on parse.
            "003" + run[..5].ToUpperInvariant() + i.ToString("D7", CultureInfo.InvariantCulture),
            OccurredAt.AddSeconds(i))).ToList();
    }

    /// <summary>One generated event, as JSON for the webhook and as the parsed event for the floor.</summary>
    internal sealed record BenchEvent(string Id, string Email, string SalesforceId, DateTimeOffset OccurredAt)
    {
        public string ToJson() => JsonSerializer.Serialize(new
        {
            id = Id,
            email = Email,
            salesforceId = SalesforceId,
            occurredAt = OccurredAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            source = "link",
        });

        public ConsentEvent ToEvent(DateTimeOffset receivedAt)
        {
            EmailAddress.TryCreate(Email, out var address, out _);
            return new ConsentEvent(Id, ConsentEventType.Unsubscribe, address!, Functions.Shared.SalesforceId.Parse(SalesforceId), OccurredAt, receivedAt, "link", null);
        }
    }

    internal sealed record RunResult(int Events, TimeSpan Elapsed, Latencies Latencies, long StorageRequests)
    {
        public double EventsPerSecond => Events / Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The bare storage floor: per event, exactly the writes and reads the design needs, with the
    /// same entity types and sizes, issued straight through the SDK clients on separate tables.
    /// </summary>
    private sealed class StorageFloor(BenchApp app)
    {
        private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];

        private TableClient Intake => app.Clients.Tables.GetTableClient("FloorIntake" + _suffix);

        private TableClient Ledger => app.Clients.Tables.GetTableClient("FloorLedger" + _suffix);

        private TableClient Audit => app.Clients.Tables.GetTableClient("FloorAudit" + _suffix);

        private Azure.Storage.Queues.QueueClient Queue => app.Clients.Queues.GetQueueClient("bench-floor-" + _suffix);

        public async Task CreateAsync(CancellationToken ct)
        {
            await Intake.CreateIfNotExistsAsync(ct);
            await Ledger.CreateIfNotExistsAsync(ct);
            await Audit.CreateIfNotExistsAsync(ct);
            await Queue.CreateIfNotExistsAsync(cancellationToken: ct);
        }

        public async Task<RunResult> RunAsync(IReadOnlyList<BenchEvent> generated, int perRequest, int concurrency, CancellationToken ct)
        {
            var latencies = new Latencies();
            var requestsBefore = app.StorageRequests.Count;
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(generated.Chunk(perRequest), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (chunk, token) =>
            {
                var begin = Stopwatch.GetTimestamp();
                var receivedAt = DateTimeOffset.UtcNow;
                await Parallel.ForEachAsync(chunk, new ParallelOptions { MaxDegreeOfParallelism = IntakeParallelism, CancellationToken = token }, async (e, inner) =>
                    await WriteAsync(e.ToEvent(receivedAt), inner));
                latencies.Add(begin);
            });
            return new RunResult(generated.Count, Stopwatch.GetElapsedTime(started), latencies, app.StorageRequests.Count - requestsBefore);
        }

        private async Task WriteAsync(ConsentEvent e, CancellationToken ct)
        {
            var key = e.Email.Key;
            var now = DateTimeOffset.UtcNow;
            var record = new IntakeRecordEntity
            {
                PartitionKey = IntakeRecords.KeyOf(e.Id),
                EventId = e.Id,
                EmailKey = key,
                ReceivedAt = e.ReceivedAt,
                EventJson = StoredEvent.Serialize(e),
            };
            await Intake.AddEntityAsync(record, ct);

            await foreach (var row in Ledger.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {key}"), cancellationToken: ct))
            {
                _ = row;
            }

            var id = e.SalesforceId!.Value;
            var state = new ConsentStateEntity
            {
                PartitionKey = key,
                Email = e.Email.Value,
                State = nameof(ConsentState.Unsubscribed),
                StateSince = e.OccurredAt,
                DecidedAt = e.OccurredAt,
                StateSource = e.Source,
                StateEventId = e.Id,
                CreatedAt = now,
                UpdatedAt = now,
                Version = 1,
            };
            var link = new RecordLinkEntity
            {
                PartitionKey = key,
                RowKey = RecordLinkEntity.RowKeyFor(id.Value),
                SalesforceId = id.Value,
                ObjectType = id.SObjectName,
                DesiredOptOut = true,
                RequestedByEventId = e.Id,
                LinkedAt = now,
                UpdatedAt = now,
            };
            // The change row for the change feed rides in the same transaction; its queue message is one more request.
            var change = ConsentChangeEntity.For(state, e, now);
            await Ledger.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Add, state),
                    new TableTransactionAction(TableTransactionActionType.UpsertReplace, link),
                    new TableTransactionAction(TableTransactionActionType.Add, change),
                ],
                ct);
            await Queue.SendMessageAsync(new ConsentFeedMessage(ConsentFeedMessage.CurrentVersion, key).ToJson(), ct);

            await Audit.AddEntityAsync(
                new AuditEntity
                {
                    PartitionKey = key,
                    RowKey = AuditLog.EventRowKey(e.OccurredAt, record.PartitionKey),
                    EventId = e.Id,
                    Type = e.TypeName,
                    Source = e.Source,
                    Channel = "webhook",
                    OccurredAt = e.OccurredAt,
                    ReceivedAt = e.ReceivedAt,
                    RecordedAt = now,
                    SalesforceId = id.Value,
                    Records = id.Value,
                    Outcome = "applied",
                },
                ct);

            await Queue.SendMessageAsync(new PushMessage(PushMessage.CurrentVersion, key, id.Value, id.SObjectName, true, e.Id, e.OccurredAt, now).ToJson(), ct);

            record.Stage = nameof(IntakeStage.Queued);
            record.CompletedAt = now;
            await Intake.UpdateEntityAsync(record, ETag.All, TableUpdateMode.Merge, ct);
        }

        public async Task DeleteAsync()
        {
            await Intake.DeleteAsync();
            await Ledger.DeleteAsync();
            await Audit.DeleteAsync();
            await Queue.DeleteIfExistsAsync();
        }
    }
}
