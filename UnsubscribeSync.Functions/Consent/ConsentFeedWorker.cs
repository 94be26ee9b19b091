using System.Text.Json;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>What one sweep did.</summary>
public sealed record ConsentSweepResult(int Published, int Backfilled, int NotificationsQueued, bool PassComplete);

/// <summary>
/// Moves recorded consent changes into the change feed and hands the notifications they owe to the notify queue:
/// for each <c>consent-feed</c> message, and in the periodic sweep that catches what a crash or a lost message left
/// behind (and numbers the addresses written before the feed existed).
/// </summary>
public sealed partial class ConsentFeedWorker(
    IConsentFeed feed,
    IConsentChangeLog changes,
    INotificationQueue notifications,
    NotificationRules rules,
    TimeProvider timeProvider,
    ILogger<ConsentFeedWorker> logger)
{
    /// <summary>Ledger pages (of up to 1,000 rows) one sweep reads before it hands on to the next.</summary>
    public const int SweepPagesPerRun = 50;

    /// <summary>Addresses one sweep publishes or backfills before it hands on to the next.</summary>
    public const int SweepAddressesPerRun = 5000;

    /// <summary>A notification owed for longer than this was left by a worker that stopped; the sweep queues it.</summary>
    public static readonly TimeSpan OwedNotificationGrace = TimeSpan.FromMinutes(5);

    /// <summary>Handles one <c>consent-feed</c> message. Throws on storage failures, so the queue retries.</summary>
    public async Task<int> PublishAsync(string messageText, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return 0;
        }

        return await PublishAddressAsync(message.EmailKey, cancellationToken);
    }

    /// <summary>A message that exhausted its attempts: one more try, else the sweep finishes it (the change rows stay in the ledger).</summary>
    public async Task RecordPoisonedAsync(string messageText, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return;
        }

        try
        {
            await PublishAddressAsync(message.EmailKey, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Thrown here, the message would only move to a poison queue nobody drains; the sweep finds the change rows.
            Log.LeftForSweep(logger, message.EmailKey[..12], ex);
        }
    }

    /// <summary>One bounded step of the sweep: the next slice of the ledger, then notifications left owed.</summary>
    public async Task<ConsentSweepResult> SweepAsync(CancellationToken cancellationToken)
    {
        var sweep = await feed.GetSweepAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        if (sweep.Continuation is null)
        {
            sweep.PassStartedAt = now;
        }

        var backfilling = !sweep.BackfillComplete;
        var slice = await changes.ScanChangesAsync(sweep.Continuation, backfilling, SweepPagesPerRun, SweepAddressesPerRun, cancellationToken);
        var backfilled = 0;
        foreach (var key in slice.Unnumbered)
        {
            backfilled += await changes.BackfillAsync(key, cancellationToken) ? 1 : 0;
        }

        var published = 0;
        foreach (var key in slice.Waiting.Concat(slice.Unnumbered).Distinct(StringComparer.Ordinal))
        {
            published += await PublishAddressAsync(key, cancellationToken);
        }

        var queued = 0;
        await foreach (var owed in feed.OwedNotificationsAsync(cancellationToken))
        {
            if (now - owed.CreatedAt >= OwedNotificationGrace)
            {
                await QueueAsync(owed, cancellationToken);
                queued++;
            }
        }

        var complete = slice.Continuation is null;
        sweep.Continuation = slice.Continuation;
        sweep.BackfillComplete |= backfilling && complete;
        sweep.UpdatedAt = now;
        if (!await feed.TrySaveSweepAsync(sweep, cancellationToken))
        {
            // Another sweep ran at the same time; its progress stands and this slice is read again next time (harmless).
            Log.SweepRace(logger);
        }

        Log.Swept(logger, published, backfilled, queued, complete);
        return new ConsentSweepResult(published, backfilled, queued, complete);
    }

    private async Task<int> PublishAddressAsync(string emailKey, CancellationToken cancellationToken)
    {
        var publication = await feed.PublishAsync(emailKey, rules.ShouldNotify, cancellationToken);
        foreach (var owed in publication.Notifications)
        {
            await QueueAsync(owed, cancellationToken);
        }

        if (publication.Appended.Count > 0)
        {
            Log.Published(logger, publication.Appended.Count, emailKey[..12], publication.Appended[^1].Sequence, publication.Notifications.Count);
        }

        return publication.Appended.Count;
    }

    // Queued first, then no longer owed: a crash in between sends it twice (receivers dedupe by sequence), never not at all.
    private async Task QueueAsync(FeedNotificationEntity owed, CancellationToken cancellationToken)
    {
        await notifications.SendAsync(owed.Sequence, cancellationToken);
        await feed.CompleteNotificationAsync(owed, cancellationToken);
    }

    private bool TryRead(string messageText, out ConsentFeedMessage message)
    {
        try
        {
            message = ConsentFeedMessage.FromJson(messageText);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            // Retrying cannot fix it; any change it was about stays in the ledger for the sweep.
            Log.Unreadable(logger, ex);
            message = null!;
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 630, Level = LogLevel.Information, Message = "Consent feed: {Count} changes of address {AddressId} appended (up to entry {Sequence}); {Notifications} notifications owed")]
        public static partial void Published(ILogger logger, int count, string addressId, long sequence, int notifications);

        [LoggerMessage(EventId = 631, Level = LogLevel.Error, Message = "Consent feed: the changes of address {AddressId} could not be published after every attempt; the sweep publishes them")]
        public static partial void LeftForSweep(ILogger logger, string addressId, Exception exception);

        [LoggerMessage(EventId = 632, Level = LogLevel.Information, Message = "Consent feed sweep: {Published} changes published, {Backfilled} addresses backfilled, {Queued} notifications queued; pass complete: {Complete}")]
        public static partial void Swept(ILogger logger, int published, int backfilled, int queued, bool complete);

        [LoggerMessage(EventId = 633, Level = LogLevel.Information, Message = "Consent feed sweep: another sweep saved its progress first; this one's slice is read again next time")]
        public static partial void SweepRace(ILogger logger);

        [LoggerMessage(EventId = 634, Level = LogLevel.Error, Message = "A consent feed message could not be read and was dropped; the sweep publishes any change it was about")]
        public static partial void Unreadable(ILogger logger, Exception exception);
    }
}
