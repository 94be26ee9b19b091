using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Tests.Infrastructure;
using UnsubscribeSync.Tests.Sync;

namespace UnsubscribeSync.Tests.Reliability;

/// <summary>
/// The fault matrix of docs/reliability.md: for each fault, a seeded workload of unsubscribes goes through the
/// webhook, the push queue and a nightly run, and every accepted unsubscribe is accounted for: reached
/// Salesforce, still owed (with the reason the ledger gives), or lost. Lost must be 0 for every row, and what is
/// owed must be repaired by the next nightly run. <c>scripts/reliability.sh</c> regenerates the document.
/// </summary>
public sealed class FaultMatrixTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const int BatchSize = 100;
    private const int MaxSenderAttempts = 20;
    private const string IntakeToFinish = "intake to finish";
    private const string HandWrittenMarker = "<!-- Generated above this line by scripts/reliability.sh; written by hand below it. -->";

    /// <summary>
    /// Events per row: 200 in the ordinary test run, to keep the suite short on a 2-core machine;
    /// <c>scripts/reliability.sh</c> sets <c>UNSUBSCRIBESYNC_MATRIX_EVENTS=1000</c> for the figures in docs/reliability.md.
    /// </summary>
    private static readonly int Events = int.TryParse(Environment.GetEnvironmentVariable("UNSUBSCRIBESYNC_MATRIX_EVENTS"), out var n) && n > 0 ? n : 200;

    // The circuit breaker is measured by the client's own tests; here it would stay open on the harness's fake clock.
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Salesforce:MaxRetryAttempts"] = "0",
        ["Salesforce:CircuitBreakerMinimumThroughput"] = "1000000",
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static IEnumerable<Scenario> Scenarios()
    {
        yield return new Scenario("No fault (baseline)");
        yield return new Scenario("Salesforce 5xx burst (300 × 503 SERVER_UNAVAILABLE)")
        {
            BeforePush = h => h.Sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 503, "SERVER_UNAVAILABLE", "server too busy", Count: 300)),
        };
        yield return new Scenario("UNABLE_TO_LOCK_ROW (200 ×)")
        {
            BeforePush = h => h.Sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 500, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", Count: 200)),
        };
        yield return new Scenario("Concurrent-request limit (100 × REQUEST_LIMIT_EXCEEDED ConcurrentPerOrgLongTxn)")
        {
            BeforePush = h => h.Sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", Count: 100)),
        };
        yield return new Scenario("Token revoked mid-run (every session expired half-way)")
        {
            MidPush = h => h.Sandbox.Control.ExpireAllTokensAsync(Ct),
        };
        // Push shares calls between the pushes in flight (about 10 records a call in the matrix), so the limit is set in
        // calls, a fiftieth of the events: reached part-way through the push whatever the coalescing achieves.
        yield return new Scenario("Daily API limit reached part-way (after a fiftieth of the events in calls)")
        {
            ExpectOwedAfterPush = true,
            BeforePush = async h =>
            {
                var used = (await h.Sandbox.Control.GetStatsAsync(Ct)).Total;
                await h.Sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = used + Math.Max(2, Events / 50) }, Ct);
            },
            BeforeRepair = h => h.Sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 50_000_000 }, Ct),
        };
        yield return new Scenario("Storage unavailable during intake (every request's first attempt)") { IntakeOutage = true };
        yield return new Scenario("Storage unavailable during push (every message's first delivery)") { PushOutage = true };
        var crash = new CrashSwitch();
        yield return new Scenario("Crash inside intake (every 7th event's queue send fails once)")
        {
            Configure = services => services.AddSingleton<IPushQueue>(sp => new FlakyPushQueue(
                new PushQueue(sp.GetRequiredService<StorageClients>(), sp.GetRequiredService<IOptions<StorageOptions>>()), every: 7, crash)),
            BeforeRepair = _ =>
            {
                crash.On = false;
                return Task.CompletedTask;
            },
        };
        yield return new Scenario("Crash after the Salesforce write, before it is recorded (every 5th PATCH's answer lost)")
        {
            Configure = services => services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => new LoseEveryNthWriteAnswer(5))),
        };
        yield return new Scenario("Duplicate and out-of-order deliveries (every batch twice, reversed)") { DuplicateAndReorder = true };
        yield return new Scenario("Two nightly ticks at once (repair run)") { TwoTicks = true };

        // The sync rows: push meets the daily limit, so every opt-out is owed and the nightly run, under the fault, writes them all.
        var refused = SyncCommitFault(TransactionFaultKind.Refused);
        yield return new Scenario("Storage unavailable during a sync batch (every 2nd batch's result commit refused)")
        {
            Configure = refused.Install,
            BeforePush = ExhaustDailyLimitAsync,
            BeforeRepair = RestoreDailyLimitAsync,
            Repair = h => RunNightlyThroughHostAsync(h, refused),
        };
        var answerLost = SyncCommitFault(TransactionFaultKind.AnswerLost);
        yield return new Scenario("Crash between a sync batch's commit and its children's enqueue (every 2nd commit's answer lost)")
        {
            Configure = answerLost.Install,
            BeforePush = ExhaustDailyLimitAsync,
            BeforeRepair = RestoreDailyLimitAsync,
            Repair = h => RunNightlyThroughHostAsync(h, answerLost),
        };
        yield return new Scenario("Stalled batch re-queued (the worker holding every 3rd batch dies; the next tick resumes the run)")
        {
            BeforePush = ExhaustDailyLimitAsync,
            BeforeRepair = RestoreDailyLimitAsync,
            Repair = RunNightlyWithDyingWorkersAsync,
        };
    }

    private static Task ExhaustDailyLimitAsync(SyncHarness h) =>
        h.Sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 1000 }, Ct);

    private static Task RestoreDailyLimitAsync(SyncHarness h) =>
        h.Sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 50_000_000, ApiUsage = 0 }, Ct);

    /// <summary>A tick, then the batch queue delivered as the host does (retries, poison queue, RecordSyncBatchFailure) with the fault on.</summary>
    private static async Task RunNightlyThroughHostAsync(SyncHarness h, TableTransactionFault fault)
    {
        await h.TickAsync();
        var host = new QueueHostEmulator(h.Storage.Clients.Queues);
        fault.On = true;
        await host.DrainAsync(h.Storage.Names.SyncBatchQueue, h.Batch.Run, Ct, maxDeliveries: int.MaxValue);
        fault.On = false;
        var poison = new RecordSyncBatchFailure(h.Services.GetRequiredService<Functions.Sync.ISyncBatchRunner>());
        await host.DrainAsync(h.Storage.Names.SyncBatchQueue + "-poison", poison.Run, Ct, maxDeliveries: int.MaxValue);
        Assert.True(fault.Injected > 0, "the fault never fired");
        Assert.Equal(nameof(Functions.Sync.SyncPhase.Completed), (await h.LatestRunAsync()).Phase);
    }

    /// <summary>
    /// Every 3rd batch's first delivery goes to a worker that takes the batch's claim and dies: its message is gone and
    /// its claim stays until it lapses. The run stalls; a tick past <c>Sync:StallAfter</c> must resume and finish it.
    /// </summary>
    private static async Task RunNightlyWithDyingWorkersAsync(SyncHarness h)
    {
        await h.TickAsync();
        var host = new QueueHostEmulator(h.Storage.Clients.Queues);
        var store = h.Services.GetRequiredService<Functions.Sync.SyncRunStore>();
        var lifetime = h.Services.GetRequiredService<IOptions<Functions.Sync.NightlySyncOptions>>().Value.BatchClaimLifetime;
        var delivered = 0;
        var died = 0;
        async Task Deliver(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken ct)
        {
            if (message.DequeueCount == 1 && ++delivered % 3 == 0)
            {
                var batch = Functions.Sync.SyncBatchMessage.FromJson(message.MessageText);
                var row = await store.GetBatchAsync(batch.RunId, batch.BatchId, ct);
                Assert.True(await store.TryClaimBatchAsync(row!, "worker-that-died", lifetime, ct));
                died++;
                return;
            }

            await h.Batch.Run(message, ct);
        }

        await host.DrainAsync(h.Storage.Names.SyncBatchQueue, Deliver, Ct, maxDeliveries: int.MaxValue);
        Assert.True(died > 0, "no worker died");
        Assert.NotEqual(nameof(Functions.Sync.SyncPhase.Completed), (await h.LatestRunAsync()).Phase);
        await h.AdvanceAsync(TimeSpan.FromMinutes(31));
        var nightly = h.Services.GetRequiredService<Functions.Sync.INightlySyncService>();
        Assert.Equal(Functions.Sync.NightlySyncOutcome.Resumed, await nightly.TickAsync(isPastDue: true, Ct));
        await host.DrainAsync(h.Storage.Names.SyncBatchQueue, h.Batch.Run, Ct, maxDeliveries: int.MaxValue);
        Assert.Equal(nameof(Functions.Sync.SyncPhase.Completed), (await h.LatestRunAsync()).Phase);
    }

    [Fact]
    public async Task FaultMatrix_EveryFault_LosesNothingAndTheNightlyRunRepairsWhatIsOwed()
    {
        // Arrange
        var rows = new List<MatrixRow>();

        // Act
        // UNSUBSCRIBESYNC_MATRIX_ONLY=<text> runs the rows whose name holds it (when working on one fault).
        var only = Environment.GetEnvironmentVariable("UNSUBSCRIBESYNC_MATRIX_ONLY");
        foreach (var scenario in Scenarios().Where(s => string.IsNullOrEmpty(only) || s.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            var row = await RunAsync(scenario);
            rows.Add(row);
            Assert.True(!scenario.ExpectOwedAfterPush || row.Owed.Values.Sum() > 0, $"{scenario.Name}: the fault left nothing owed after the push, so it never took effect");
        }

        Assert.NotEmpty(rows);

        // Assert
        WriteReportIfAsked(rows);
        Assert.All(rows, r =>
        {
            Assert.True(r.Accepted == Events, $"{r.Name}: {r.Accepted} of {Events} accepted");
            Assert.True(r.Lost == 0, $"{r.Name}: {r.Lost} lost before the nightly run");

            // 202 is answered only once an event is in the ledger and queued, so none of them waits for the nightly sweep.
            Assert.True(!r.Owed.ContainsKey(IntakeToFinish), $"{r.Name}: {r.Owed.GetValueOrDefault(IntakeToFinish)} accepted events were not finished by their 202");
            Assert.True((r.OwedAfterRepair, r.LostAfterRepair) == (0, 0), $"{r.Name}: after the nightly run {r.OwedAfterRepair} owed, {r.LostAfterRepair} lost");
            Assert.True(r.ServerErrors == 0, $"{r.Name}: {r.ServerErrors} webhook answers of 5xx other than 503");
        });
    }

    private async Task<MatrixRow> RunAsync(Scenario scenario)
    {
        // The harness's clock is fake, and the client's resilience pipeline waits on the app's clock, so the client does not
        // retry here: every transient fault goes back to the queue, whose retries are the ones the matrix measures.
        await using var h = await SyncHarness.CreateAsync(sandbox, Settings, configureServices: scenario.Configure);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 50_000_000 }, Ct);
        var tag = Guid.NewGuid().ToString("N")[..6];
        var emails = Enumerable.Range(0, Events).Select(i => $"m{i}.{tag}@example.com").ToList();
        var ids = await sandbox.Control.CreateRecordsAsync(emails.Select(e => SandboxRecord.Contact(e, optedOut: false)), Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));

        // Intake: the sender posts batches of 100 and retries a 503 (as a relay would), at most MaxSenderAttempts times.
        // Each failed attempt crashes events that had not crashed before, so a batch needs at most one attempt per crash.
        var statuses = new Dictionary<int, int>();
        var accepted = new HashSet<string>(StringComparer.Ordinal);
        await using var down = new TestStorage(TestStorage.UnreachableConnectionString);
        await using var downServices = AppServices.Build(down, sandbox);
        var handler = h.Services.GetRequiredService<WebhookHandler>();
        var batches = Enumerable.Range(0, Events).Chunk(BatchSize).Select(chunk => chunk.Select(i => (Id: $"evt-{i}", Email: emails[i], SalesforceId: ids[i])).ToList()).ToList();
        if (scenario.DuplicateAndReorder)
        {
            batches = [.. batches.AsEnumerable().Reverse().SelectMany(b => new[] { b, b.AsEnumerable().Reverse().ToList() })];
        }

        foreach (var batch in batches)
        {
            var body = Body(batch);
            if (scenario.IntakeOutage)
            {
                Count(statuses, (await PostAsync(downServices.GetRequiredService<WebhookHandler>(), body, accepted)).Status);
            }

            for (var attempt = 0; attempt < MaxSenderAttempts; attempt++)
            {
                var (status, retryAfter) = await PostAsync(handler, body, accepted);
                Count(statuses, status);
                if (status != 503)
                {
                    break;
                }

                // A relay waits as Retry-After asks (storage down: 30 s; an event held by a failed attempt: until its claim lapses).
                await h.AdvanceAsync(retryAfter);
            }
        }

        // Push: the host's delivery with retries and the poison queue; its poison queue drained by RecordPushFailure.
        if (scenario.BeforePush is { } beforePush)
        {
            await beforePush(h);
        }

        var push = new PushToSalesforce(h.Services.GetRequiredService<IPushService>());
        var downPush = new PushToSalesforce(downServices.GetRequiredService<IPushService>());
        var host = new QueueHostEmulator(h.Storage.Clients.Queues);
        Task Deliver(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken ct) =>
            scenario.PushOutage && message.DequeueCount == 1 ? downPush.Run(message, ct) : push.Run(message, ct);
        await DrainInParallelAsync(host, h.Storage.Names.PushQueue, Deliver, Events / 2);
        if (scenario.MidPush is { } midPush)
        {
            await midPush(h);
        }

        await DrainInParallelAsync(host, h.Storage.Names.PushQueue, Deliver, int.MaxValue);
        var poison = new RecordPushFailure(h.Services.GetRequiredService<IPushService>());
        await host.DrainAsync(h.Storage.Names.PushPoisonQueue, poison.Run, Ct, maxDeliveries: int.MaxValue);
        var beforeRepair = await AccountAsync(h, emails, ids, accepted);

        // Repair: the faults are gone; the next nightly run must write everything still owed.
        await sandbox.Control.ClearFaultsAsync(Ct);
        if (scenario.BeforeRepair is { } beforeRepairStep)
        {
            await beforeRepairStep(h);
        }

        await h.AdvanceAsync(TimeSpan.FromHours(1));
        if (scenario.Repair is { } repair)
        {
            await repair(h);
        }
        else if (scenario.TwoTicks)
        {
            await Task.WhenAll(h.TickAsync(), h.TickAsync());
            await h.DrainAsync();
        }
        else
        {
            await h.RunNightlyAsync();
        }

        var afterRepair = await AccountAsync(h, emails, ids, accepted);
        return new MatrixRow(
            scenario.Name,
            accepted.Count,
            beforeRepair.Reached,
            beforeRepair.Owed,
            beforeRepair.Lost,
            afterRepair.Owed.Values.Sum(),
            afterRepair.Lost,
            statuses.Where(s => s.Key >= 500 && s.Key != 503).Sum(s => s.Value),
            statuses);
    }

    private static async Task<(int Status, TimeSpan RetryAfter)> PostAsync(WebhookHandler handler, string body, HashSet<string> accepted)
    {
        var result = await (await handler.HandleAsync(HttpTestExtensions.JsonRequest(body), Ct)).ExecuteAsync();
        if (result.Status == 202)
        {
            foreach (var field in new[] { "accepted", "duplicates" })
            {
                foreach (var id in result.Json[field]?.AsArray() ?? [])
                {
                    accepted.Add(id!.GetValue<string>());
                }
            }
        }

        var retryAfter = int.TryParse(result.Headers.RetryAfter.ToString(), CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
        return (result.Status, retryAfter);
    }

    private static async Task DrainInParallelAsync(QueueHostEmulator host, string queue, Func<Azure.Storage.Queues.Models.QueueMessage, CancellationToken, Task> deliver, int maxDeliveries)
    {
        // Eight at a time, several deliveries in flight as on one instance (host.json batchSize 32 + newBatchThreshold 16 allows 48), so pushes coalesce.
        var delivered = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref delivered) <= maxDeliveries && await host.DeliverOnceAsync(queue, deliver, Ct))
            {
            }
        }));
    }

    /// <summary>Where every accepted unsubscribe stands: in Salesforce, owed by the ledger (and why), or nowhere (lost).</summary>
    private static async Task<Accounting> AccountAsync(SyncHarness h, IReadOnlyList<string> emails, IReadOnlyList<string> ids, HashSet<string> accepted)
    {
        var reached = 0;
        var lost = 0;
        var owed = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var unfinishedIntakes = await h.Storage.IntakeRecords.FindUnfinishedAsync(DateTimeOffset.MaxValue, Ct).Select(r => r.EventId).ToHashSetAsync(StringComparer.Ordinal, Ct);
        for (var i = 0; i < emails.Count; i++)
        {
            if (!accepted.Contains($"evt-{i}"))
            {
                continue;
            }

            if (await h.SalesforceOptOutAsync(ids[i]))
            {
                reached++;
                continue;
            }

            var link = await h.Ledger.GetLinkAsync(EmailAddress.KeyOf(emails[i]), SalesforceId.Parse(ids[i]).Value, Ct);
            var reason = link switch
            {
                { IsOwed: true } => $"{link.Status} {link.LastErrorCode}".Trim(),
                null when unfinishedIntakes.Contains($"evt-{i}") => IntakeToFinish,
                _ => null,
            };
            if (reason is null)
            {
                // Not in Salesforce, and the ledger does not owe it either: this is the number that must stay 0.
                lost++;
            }
            else
            {
                owed[reason] = owed.GetValueOrDefault(reason) + 1;
            }
        }

        return new Accounting(reached, owed, lost);
    }

    private static string Body(IEnumerable<(string Id, string Email, string SalesforceId)> events)
    {
        var items = events.Select(e => $$"""{"id":"{{e.Id}}","type":"unsubscribe","email":"{{e.Email}}","salesforceId":"{{e.SalesforceId}}","source":"link"}""");
        return $$"""{"unsubscribes":[{{string.Join(',', items)}}]}""";
    }

    private static void Count(Dictionary<int, int> statuses, int status) => statuses[status] = statuses.GetValueOrDefault(status) + 1;

    private static void WriteReportIfAsked(IReadOnlyList<MatrixRow> rows)
    {
        var path = Environment.GetEnvironmentVariable("UNSUBSCRIBESYNC_RELIABILITY_REPORT");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var md = new StringBuilder();
        md.AppendLine("# Reliability: the fault matrix");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated by `scripts/reliability.sh` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC ({Environment.ProcessorCount} cores), from `UnsubscribeSync.Tests/Reliability/FaultMatrixTests.cs`.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Each row: {Events:N0} unsubscribes for {Events:N0} Contacts, posted to the webhook in batches of {BatchSize} (a 503 is retried by the sender, at most {MaxSenderAttempts} times),");
        md.AppendLine("pushed through the queue as the host delivers it (eight at a time, `maxDequeueCount` attempts, then the poison queue and `RecordPushFailure`),");
        md.AppendLine("then one nightly run with the fault cleared. Real Azurite storage and the Salesforce sandbox over HTTP; the client's own retries are off, so every transient fault is retried by the queue.");
        md.AppendLine();
        md.AppendLine("*Reached* = the Contact holds the opt-out in Salesforce. *Owed* = not yet, and the ledger holds it as owed (status and code). *Lost* = neither: must be 0.");
        md.AppendLine();
        md.AppendLine("| Fault | Accepted | Reached after push | Owed after push (why) | Lost | Owed after the nightly run | Lost after it | Webhook answers |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var owed = r.Owed.Count == 0 ? "0" : $"{r.Owed.Values.Sum()} ({string.Join(", ", r.Owed.Select(o => $"{o.Key}: {o.Value}"))})";
            var answers = string.Join(", ", r.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} × {s.Value}"));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Accepted} | {r.Reached} | {owed} | {r.Lost} | {r.OwedAfterRepair} | {r.LostAfterRepair} | {answers} |");
        }

        md.AppendLine();
        md.AppendLine("The last three rows fault the nightly run itself: push meets the daily API limit, so every opt-out is owed (Deferred) and the nightly run, under the fault, must write them all.");
        md.AppendLine("Their batch queue is delivered as the host delivers it (retries, then the poison queue and `RecordSyncBatchFailure`); a dying worker keeps its batch's claim until it lapses, and a tick past `Sync__StallAfter` resumes the run.");
        md.AppendLine();
        md.AppendLine(HandWrittenMarker);

        // The rest of the document (the fuzzing and flakiness sections) is written by hand and kept.
        var existing = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        var kept = existing.IndexOf(HandWrittenMarker, StringComparison.Ordinal) is var at and >= 0 ? existing[(at + HandWrittenMarker.Length)..].TrimStart('\r', '\n') : string.Empty;
        File.WriteAllText(path, md.ToString() + (kept.Length > 0 ? Environment.NewLine + kept : string.Empty));
    }

    internal sealed record Scenario(string Name)
    {
        public Action<IServiceCollection>? Configure { get; init; }

        public Func<SyncHarness, Task>? BeforePush { get; init; }

        public Func<SyncHarness, Task>? MidPush { get; init; }

        public Func<SyncHarness, Task>? BeforeRepair { get; init; }

        public bool IntakeOutage { get; init; }

        public bool PushOutage { get; init; }

        public bool DuplicateAndReorder { get; init; }

        public bool TwoTicks { get; init; }

        /// <summary>The fault must leave opt-outs owed after the push (else the row no longer tests what it names).</summary>
        public bool ExpectOwedAfterPush { get; init; }

        /// <summary>The nightly run under a fault of its own, instead of one ordinary run.</summary>
        public Func<SyncHarness, Task>? Repair { get; init; }
    }

    private sealed record Accounting(int Reached, SortedDictionary<string, int> Owed, int Lost);

    private sealed record MatrixRow(
        string Name, int Accepted, int Reached, SortedDictionary<string, int> Owed, int Lost, int OwedAfterRepair, int LostAfterRepair, int ServerErrors, Dictionary<int, int> Statuses);

    /// <summary>A push queue that fails the first send of every <c>every</c>-th event while the switch is on, as a crash between the ledger write and the queue would.</summary>
    private sealed class CrashSwitch
    {
        public volatile bool On = true;
    }

    private sealed class FlakyPushQueue(IPushQueue inner, int every, CrashSwitch crash) : IPushQueue
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _crashed = new(StringComparer.Ordinal);

        // Every n-th event (evt-0, evt-7, ...) fails the first time it is queued, so a retry finds its intake half-done.
        public Task SendAsync(PushMessage message, CancellationToken cancellationToken) =>
            crash.On && int.Parse(message.EventId.AsSpan(4), CultureInfo.InvariantCulture) % every == 0 && _crashed.TryAdd(message.EventId, true)
                ? throw new Azure.RequestFailedException(503, "The test's crash between the ledger and the queue.")
                : inner.SendAsync(message, cancellationToken);
    }

    /// <summary>Lets every <c>n</c>-th record PATCH reach Salesforce, then loses its answer, as a worker crash after the write would.</summary>
    private sealed class LoseEveryNthWriteAnswer(int n) : DelegatingHandler
    {
        private static int _writes;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Patch && request.RequestUri!.AbsolutePath.Contains("/sobjects/", StringComparison.Ordinal)
                && response.StatusCode == HttpStatusCode.NoContent && Interlocked.Increment(ref _writes) % n == 0)
            {
                response.Dispose();
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "The test lost the answer after Salesforce saved the record.");
            }

            return response;
        }
    }

    /// <summary>
    /// Faults every 2nd entity-group transaction on the SyncRuns table (a batch recording its result and planning its
    /// children) while on.
    /// </summary>
    private static TableTransactionFault SyncCommitFault(TransactionFaultKind kind)
    {
        var commits = 0;
        return new TableTransactionFault(o => o.SyncRunsTable, _ => Interlocked.Increment(ref commits) % 2 == 0, kind, Azure.Core.HttpPipelinePosition.PerCall);
    }
}
