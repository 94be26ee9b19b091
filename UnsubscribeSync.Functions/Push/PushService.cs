using System.Text.Json;
using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Push;

/// <summary>What one push message came to.</summary>
public enum PushOutcome
{
    /// <summary>Salesforce now holds the ledger's value.</summary>
    Synced,

    /// <summary>The ledger already knew Salesforce holds the value (a re-delivered message): no call was made.</summary>
    AlreadySynced,

    /// <summary>Nothing to write (a resubscribe while resubscribes are not pushed, a dead record, an unknown link).</summary>
    NothingToDo,

    /// <summary>Salesforce refused permanently; the reason is on the link.</summary>
    Failed,

    /// <summary>A configuration problem (missing or read-only field, rejected credentials) stops writes; an admin must act.</summary>
    Blocked,

    /// <summary>The org's daily API limit is reached; the nightly sync writes it later.</summary>
    Deferred,

    /// <summary>The record was gone and its survivor or converted contact was written instead.</summary>
    Redirected,
}

/// <summary>Brings one linked Salesforce record in line with the ledger.</summary>
public interface IPushService
{
    /// <summary>
    /// Handles one <c>unsubscribe-push</c> message. Throws only for transient failures, so the queue retries;
    /// every permanent outcome is written to the ledger and audit and the message completes.
    /// </summary>
    /// <param name="messageText">The queue message (a <see cref="PushMessage"/>).</param>
    /// <param name="dequeueCount">
    /// The queue's delivery count. A redelivered message whose link the ledger holds as confirmed is checked against
    /// Salesforce (one query) before it is called done: its earlier worker may have died after an old value landed.
    /// </param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<PushOutcome> PushAsync(string messageText, long dequeueCount, CancellationToken cancellationToken);

    /// <summary>Handles a message that exhausted its attempts (from the poison queue): the link is marked failed.</summary>
    Task RecordFailureAsync(string messageText, CancellationToken cancellationToken);
}

/// <summary>
/// The push worker: reads the link the message names and hands it to the <see cref="PushCoalescer"/>, which writes it
/// through the <see cref="SalesforceWriter"/> alone when idle or with the other pushes in flight, so push and the
/// nightly sync write, follow redirects and record outcomes the same way.
/// </summary>
public sealed partial class PushService(
    ILedgerStore ledger,
    ILinkOutcomeRecorder recorder,
    PushCoalescer coalescer,
    TimeProvider timeProvider,
    ILogger<PushService> logger) : IPushService
{
    private const string Channel = "push";

    // A write that landed after a newer value was confirmed is written again; more than this means the address is changing faster than we can write.
    private const int MaxRewrites = 3;

    public async Task<PushOutcome> PushAsync(string messageText, long dequeueCount, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return PushOutcome.NothingToDo;
        }

        for (var round = 1; ; round++)
        {
            var link = await ledger.GetLinkAsync(message.EmailKey, message.SalesforceId, cancellationToken);
            var verify = false;
            switch (link)
            {
                case null:
                    Log.UnknownLink(logger, message.SalesforceId);
                    return PushOutcome.NothingToDo;
                case { Status: LinkStatus.Synced } when dequeueCount > 1 && round == 1:
                    // This message was delivered before and not completed: that worker may have died after its write of an
                    // older value landed on top of a newer one someone else confirmed. Salesforce says which.
                    Log.VerifyingRedelivered(logger, link.SalesforceId, dequeueCount);
                    verify = true;
                    break;
                case { Status: LinkStatus.Synced }:
                    Log.AlreadySynced(logger, link.SalesforceId);
                    return PushOutcome.AlreadySynced;
                case { IsOwed: false }:
                    return PushOutcome.NothingToDo;
            }

            // A transient failure is recorded on the link by the writer and thrown, so the queue retries. The call may
            // carry other messages' links: this message's outcomes are those of its own address.
            var call = await coalescer.WriteAsync(link, new WriteOptions(Channel, VerifyConfirmed: verify), cancellationToken);
            var results = call.Where(r => r.Link.PartitionKey == link.PartitionKey).ToList();

            // The last outcome for the link: a read that reopened it is followed by the write of the current value.
            var own = results.LastOrDefault(r => r.Link.SalesforceId == link.SalesforceId);
            if (own is null)
            {
                return PushOutcome.NothingToDo;
            }
            if (own.Recorded.MustRewrite && round < MaxRewrites)
            {
                continue;
            }

            var outcome = Summarize(own, results);
            if (outcome == PushOutcome.Synced)
            {
                Log.Synced(logger, link.SalesforceId, timeProvider.GetUtcNow() - message.EnqueuedAt);
            }
            else if (outcome is PushOutcome.Failed or PushOutcome.Blocked or PushOutcome.Deferred)
            {
                Log.NotWritten(logger, link.SalesforceId, outcome.ToString(), own.Outcome.Code ?? "none");
            }

            return outcome;
        }
    }

    public async Task RecordFailureAsync(string messageText, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return;
        }

        var link = await ledger.GetLinkAsync(message.EmailKey, message.SalesforceId, cancellationToken);
        if (link is null || link.Status is not (LinkStatus.Pending or LinkStatus.Failed))
        {
            return;
        }

        var code = link.LastErrorCode ?? "RETRIES_EXHAUSTED";
        var last = link.LastErrorMessage ?? "no error was recorded";
        await recorder.RecordAsync(
            link,
            LinkOutcome.Failed(link.DesiredOptOut, code, $"Gave up after repeated transient failures; the nightly sync will retry. Last error: {last}", attempted: true),
            Channel,
            cancellationToken);
        Log.GaveUp(logger, message.SalesforceId, code);
    }

    /// <summary>The message's outcome: its own record's, or for a redirected record, the record written instead.</summary>
    private static PushOutcome Summarize(WriteResult own, IReadOnlyList<WriteResult> results)
    {
        if (own.Outcome.Kind == LinkOutcomeKind.Redirected)
        {
            var successor = results.FirstOrDefault(r => r.Link.SalesforceId == own.Outcome.TargetId);
            return successor is null || successor.Outcome.Kind == LinkOutcomeKind.Synced ? PushOutcome.Redirected : Summarize(successor, results);
        }

        return own.Outcome.Kind switch
        {
            LinkOutcomeKind.Synced => PushOutcome.Synced,
            LinkOutcomeKind.Observed => PushOutcome.AlreadySynced,
            LinkOutcomeKind.Blocked => PushOutcome.Blocked,
            LinkOutcomeKind.Deferred => PushOutcome.Deferred,
            LinkOutcomeKind.NotRequired => PushOutcome.NothingToDo,
            _ => PushOutcome.Failed,
        };
    }

    private bool TryRead(string messageText, out PushMessage message)
    {
        try
        {
            message = PushMessage.FromJson(messageText);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            // Retrying cannot fix a message we cannot read; the ledger still holds the truth for the nightly sync.
            Log.Unreadable(logger, ex);
            message = null!;
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Pushed opt-out to {SalesforceId}; {Latency} after it was queued")]
        public static partial void Synced(ILogger logger, string salesforceId, TimeSpan latency);

        [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Skipped {SalesforceId}: the ledger already knows Salesforce holds the value")]
        public static partial void AlreadySynced(ILogger logger, string salesforceId);

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Push to {SalesforceId} ended {Outcome} ({ErrorCode}); recorded on the link for the nightly sync")]
        public static partial void NotWritten(ILogger logger, string salesforceId, string outcome, string errorCode);

        [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Push to {SalesforceId} exhausted its attempts ({ErrorCode}); marked failed for the nightly sync")]
        public static partial void GaveUp(ILogger logger, string salesforceId, string? errorCode);

        [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Push message for {SalesforceId} names no ledger link; nothing to do")]
        public static partial void UnknownLink(ILogger logger, string salesforceId);

        [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Push message for {SalesforceId} was delivered {DequeueCount} times and its link is confirmed; reading Salesforce before calling it done")]
        public static partial void VerifyingRedelivered(ILogger logger, string salesforceId, long dequeueCount);

        [LoggerMessage(EventId = 209, Level = LogLevel.Error, Message = "A push message could not be read and was dropped; the ledger still holds its state")]
        public static partial void Unreadable(ILogger logger, Exception exception);
    }
}
