using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Push;

/// <summary>
/// Lets the pushes in flight in one worker process share Salesforce calls. A write that arrives while fewer than
/// <see cref="MaxCallsInFlight"/> calls are in flight goes out at once (alone it is one PATCH, as an idle push always
/// was); writes that arrive while the calls are busy wait and go together in the next call (one sObject Collections
/// call per 200, through the same <see cref="SalesforceWriter"/> as the nightly sync). There is no timer and no linger:
/// a batch is whatever queued up while the calls before it ran, so an idle app pays nothing and a burst fills the
/// calls by itself.
/// </summary>
/// <remarks>
/// Each caller gets the outcomes of the whole call it went out in (recorded per link by the writer) and picks its own;
/// a call that fails as a whole (transient, after the writer recorded it on every link) fails every caller in it the
/// same way, so each queue message is retried as a lone push's would be.
/// </remarks>
public sealed partial class PushCoalescer(SalesforceWriter writer, ILogger<PushCoalescer> logger)
{
    private readonly Lock _gate = new();
    private readonly List<Pending> _queue = [];
    private readonly List<(int Count, TaskCompletionSource Reached)> _watchers = [];
    private int _calls;

    /// <summary>
    /// Calls in flight per process. Two, not one: a push never waits behind a single slow call (a write held by a lock
    /// or a retry), and one call's ledger recording overlaps the other's Salesforce round trip. Per instance that is two
    /// short requests at a time, far under Salesforce's limits (25 concurrent long-running requests per org).
    /// </summary>
    public const int MaxCallsInFlight = 2;

    /// <summary>Writes that wait for a call.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="link"/>'s desired value, at once when a call is free, else with the writes that queued up
    /// while the calls were busy. Returns every outcome the call recorded; throws what the writer threw for the call.
    /// </summary>
    public Task<IReadOnlyList<WriteResult>> WriteAsync(RecordLinkEntity link, WriteOptions options, CancellationToken cancellationToken)
    {
        var pending = new Pending(link, options);
        bool lead;
        lock (_gate)
        {
            _queue.Add(pending);
            lead = _calls < MaxCallsInFlight;
            if (lead)
            {
                _calls++;
            }

            Notify();
        }

        if (lead)
        {
            // A caller that found a call free starts one now; that call then takes whatever queued meanwhile until the
            // queue is empty. The caller does not wait for those later calls: its message completes with its own outcome.
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        // A caller that gives up (host shutdown) leaves its write queued: it lands and is recorded, and the message that
        // was not completed comes back as a redelivery, which the push checks against Salesforce.
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Completes when at least <paramref name="count"/> writes wait for a call (for tests and probes that must not sleep).</summary>
    public Task WhenWaitingAsync(int count, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_queue.Count >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watchers.Add((count, reached));
            return reached.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task DrainAsync()
    {
        while (TakeBatch() is { } batch)
        {
            var links = batch.Select(p => p.Link).DistinctBy(Key).ToList();
            try
            {
                if (links.Count > 1)
                {
                    Log.Coalesced(logger, links.Count, batch.Count);
                }

                // No caller's token cancels a call others share; the client's own timeouts bound it.
                var results = await writer.WriteAsync(links, batch[0].Options, new UrgentWriteBudget(), CancellationToken.None);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult(results);
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>
    /// The next call's writes: the oldest waiting write and those queued after it with the same options, at most one
    /// collection. Two links to one Salesforce record (two addresses naming it) never share a call: a collection may
    /// name a record once; the second waits for the next call.
    /// </summary>
    private List<Pending>? TakeBatch()
    {
        lock (_gate)
        {
            if (_queue.Count == 0)
            {
                _calls--;
                return null;
            }

            var options = _queue[0].Options;
            var batch = new List<Pending>();
            var records = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pending in _queue)
            {
                if (pending.Options != options)
                {
                    continue;
                }

                var key = Key(pending.Link);
                if (records.TryGetValue(pending.Link.SalesforceId, out var holder))
                {
                    if (holder == key)
                    {
                        batch.Add(pending); // the same link twice (a redelivered message): one write, both get its outcome
                    }

                    continue;
                }

                if (records.Count == SalesforceWriter.CollectionSize)
                {
                    break;
                }

                records[pending.Link.SalesforceId] = key;
                batch.Add(pending);
            }

            _queue.RemoveAll(batch.Contains);
            return batch;
        }
    }

    private void Notify()
    {
        for (var i = _watchers.Count - 1; i >= 0; i--)
        {
            if (_queue.Count >= _watchers[i].Count)
            {
                _watchers[i].Reached.TrySetResult();
                _watchers.RemoveAt(i);
            }
        }
    }

    private static string Key(RecordLinkEntity link) => link.PartitionKey + "/" + link.RowKey;

    private sealed class Pending(RecordLinkEntity link, WriteOptions options)
    {
        public RecordLinkEntity Link { get; } = link;

        public WriteOptions Options { get; } = options;

        public TaskCompletionSource<IReadOnlyList<WriteResult>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "Pushing {Records} records in one call for {Messages} waiting pushes")]
        public static partial void Coalesced(ILogger logger, int records, int messages);
    }
}
