using System.Diagnostics;
using Azure.Data.Tables;
using UnsubscribeSync.Benchmarks.Harness;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>Where one seeded person stands before the sync runs.</summary>
public enum SeedCategory
{
    /// <summary>Ledger: unsubscribed, link pending. Salesforce: not opted out. The sync must write Salesforce.</summary>
    LedgerAhead,

    /// <summary>Ledger: subscribed. Salesforce: opted out (changed there). The sync must bring it into the ledger.</summary>
    SalesforceAhead,

    /// <summary>Both subscribed and in step; the incremental run opts some of these out in Salesforce.</summary>
    InStepSubscribed,

    /// <summary>Both opted out and in step (the bulk); the incremental run un-checks some in Salesforce.</summary>
    InStepUnsubscribed,
}

/// <summary>One seeded person: a ledger entry (state + one link) and its Salesforce Contact or Lead.</summary>
public sealed record SeedPerson(int Index, string Email, string Type, SeedCategory Category)
{
    public string SalesforceId { get; set; } = string.Empty;

    public bool LedgerUnsubscribed => Category is SeedCategory.LedgerAhead or SeedCategory.InStepUnsubscribed;

    public bool SalesforceOptedOut => Category is SeedCategory.SalesforceAhead or SeedCategory.InStepUnsubscribed;
}

/// <summary>
/// The sync scenario's data: N ledger entries and N Salesforce records (half Contacts, half Leads),
/// with <c>drift</c> of them out of step in each direction. Salesforce is seeded with one control call
/// per 100,000 records; the ledger with one entity-group transaction per address (state + link rows
/// share the address's partition), run with bounded concurrency because every address is its own partition.
/// </summary>
public sealed class SyncDataSet
{
    private SyncDataSet(IReadOnlyList<SeedPerson> people, int drift, int incremental)
    {
        People = people;
        Drift = drift;
        Incremental = incremental;
    }

    public IReadOnlyList<SeedPerson> People { get; }

    /// <summary>People out of step in each direction.</summary>
    public int Drift { get; }

    /// <summary>People changed before the incremental run.</summary>
    public int Incremental { get; }

    public IEnumerable<SeedPerson> In(SeedCategory category) => People.Where(p => p.Category == category);

    // Coprime with every entry count used here (it is prime and larger than their factors), so i -> i * p mod n is a permutation.
    private const long ScatterPrime = 7919;

    public static SyncDataSet Create(int entries, double driftShare, double incrementalShare)
    {
        if (entries % ScatterPrime == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), "Pick an entry count that is not a multiple of 7919.");
        }

        var drift = Math.Max(1, (int)Math.Round(entries * driftShare));
        var incremental = Math.Max(2, (int)Math.Round(entries * incrementalShare));
        if ((2 * drift) + incremental > entries)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), $"{entries} entries cannot hold {drift} drifted each way and {incremental} incremental changes.");
        }

        var run = Guid.NewGuid().ToString("N")[..6];
        var people = new List<SeedPerson>(entries);
        for (var i = 0; i < entries; i++)
        {
            // Drift is scattered over the whole org (a fixed permutation), not bunched in the first query pages.
            var rank = (int)((long)i * ScatterPrime % entries);
            var category = rank < drift ? SeedCategory.LedgerAhead
                : rank < 2 * drift ? SeedCategory.SalesforceAhead
                : rank < (2 * drift) + (incremental / 2) ? SeedCategory.InStepSubscribed
                : SeedCategory.InStepUnsubscribed;
            people.Add(new SeedPerson(i, $"sync{i}.{run}@bench.example", i % 2 == 0 ? "Contact" : "Lead", category));
        }

        return new SyncDataSet(people, drift, incremental);
    }

    /// <summary>
    /// Creates every Salesforce record and remembers its Id. The records are dated two days back (sandbox
    /// clock offset), so an incremental run's watermark sees only what changed after the first run.
    /// </summary>
    public async Task<TimeSpan> SeedSalesforceAsync(SandboxHost sandbox, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await sandbox.SetClockOffsetAsync(-2 * 24 * 3600, ct);
        var ids = await sandbox.CreateRecordsAsync(People.Select(p => new SeedRecord(p.Type, p.Email, p.SalesforceOptedOut)).ToList(), ct);
        await sandbox.SetClockOffsetAsync(0, ct);
        if (ids.Count != People.Count)
        {
            throw new InvalidOperationException($"The sandbox created {ids.Count} of {People.Count} records.");
        }

        for (var i = 0; i < ids.Count; i++)
        {
            People[i].SalesforceId = ids[i];
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Creates <paramref name="count"/> more Salesforce records that no ledger entry knows (half Contacts, half Leads,
    /// not opted out, dated two days back like the rest): an org much larger than the ledger.
    /// </summary>
    public async Task<TimeSpan> SeedSalesforceOnlyAsync(SandboxHost sandbox, int count, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        if (count <= 0)
        {
            return TimeSpan.Zero;
        }

        var run = Guid.NewGuid().ToString("N")[..6];
        await sandbox.SetClockOffsetAsync(-2 * 24 * 3600, ct);
        var ids = await sandbox.CreateRecordsAsync(
            Enumerable.Range(0, count).Select(i => new SeedRecord(i % 2 == 0 ? "Contact" : "Lead", $"sfonly{i}.{run}@bench.example", false)).ToList(), ct);
        await sandbox.SetClockOffsetAsync(0, ct);
        if (ids.Count != count)
        {
            throw new InvalidOperationException($"The sandbox created {ids.Count} of {count} records.");
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Writes every ledger entry (one transaction per address) with bounded concurrency.</summary>
    public async Task<TimeSpan> SeedLedgerAsync(TableClient ledger, int concurrency, TextWriter log, CancellationToken ct)
    {
        var done = 0;
        var started = Stopwatch.GetTimestamp();
        var seededAt = DateTimeOffset.UtcNow.AddDays(-30);
        await Parallel.ForEachAsync(People, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (person, token) =>
        {
            EmailAddress.TryCreate(person.Email, out var address, out _);
            var id = Functions.Shared.SalesforceId.Parse(person.SalesforceId);
            var unsubscribed = person.LedgerUnsubscribed;
            var state = new ConsentStateEntity
            {
                PartitionKey = address!.Key,
                Email = address.Value,
                State = unsubscribed ? nameof(ConsentState.Unsubscribed) : nameof(ConsentState.Subscribed),
                StateSince = seededAt,
                DecidedAt = seededAt,
                StateSource = "link",
                StateEventId = $"seed-{person.Index}",
                CreatedAt = seededAt,
                UpdatedAt = seededAt,
            };
            var link = RecordLinkEntity.Create(address.Key, id, unsubscribed, "event", $"seed-{person.Index}", seededAt);
            if (person.Category != SeedCategory.LedgerAhead)
            {
                link.MarkSynced(seededAt, attempted: true, "HasOptedOutOfEmail");
            }

            await ledger.SubmitTransactionAsync(
                [new TableTransactionAction(TableTransactionActionType.UpsertReplace, state), new TableTransactionAction(TableTransactionActionType.UpsertReplace, link)],
                token);
            if (Interlocked.Increment(ref done) % 20_000 == 0)
            {
                log.WriteLine($"    ledger seed: {done:N0} entries after {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s");
            }
        });
        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// The changes before the incremental run, made as an admin in Salesforce would (not counted as API
    /// calls): half of them opt subscribed people out, half un-check opted-out people (the Reassert
    /// policy writes those back).
    /// </summary>
    public async Task<(int OptedOut, int Unchecked)> ApplyIncrementalChangesAsync(SandboxHost sandbox, CancellationToken ct)
    {
        var optOuts = In(SeedCategory.InStepSubscribed).Take(Incremental / 2).ToList();
        var unchecks = In(SeedCategory.InStepUnsubscribed).Take(Incremental - optOuts.Count).ToList();
        await Parallel.ForEachAsync(optOuts.Select(p => (p, true)).Concat(unchecks.Select(p => (p, false))),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            async (change, token) => await sandbox.UpdateAsAdminAsync(change.p.SalesforceId, new { HasOptedOutOfEmail = change.Item2 }, token));
        return (optOuts.Count, unchecks.Count);
    }

    /// <summary>
    /// The API-call floor of a run: every record read in pages of 2,000 (a query covers one object
    /// type, so Contacts and Leads are paged separately) and every write in collections of 200.
    /// </summary>
    public static int CallFloor(int contactsRead, int leadsRead, int writes) =>
        Pages(contactsRead, 2000) + Pages(leadsRead, 2000) + Pages(writes, 200);

    public static int Pages(int count, int size) => (count + size - 1) / size;

    /// <summary>The Ids as <see cref="Functions.Shared.SalesforceId"/>.</summary>
    public static SalesforceId IdOf(SeedPerson person) => Functions.Shared.SalesforceId.Parse(person.SalesforceId);
}
