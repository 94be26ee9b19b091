using System.Text.Json;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;

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
    Task<PushOutcome> PushAsync(string messageText, long dequeueCount, CancellationToken cancellationToken);

    /// <summary>Handles a message that exhausted its attempts (from the poison queue): the link is marked failed.</summary>
    Task RecordFailureAsync(string messageText, long dequeueCount, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class PushService(
    ILedgerStore ledger,
    IAuditLog audit,
    ISalesforceClient salesforce,
    IOptOutFieldResolver fields,
    IRecordRedirectResolver redirects,
    StorageBootstrap bootstrap,
    IOptions<SyncOptions> syncOptions,
    TimeProvider timeProvider,
    ILogger<PushService> logger) : IPushService
{
    private const int MaxConflictRetries = 3;

    public async Task<PushOutcome> PushAsync(string messageText, long dequeueCount, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return PushOutcome.NothingToDo;
        }

        await bootstrap.EnsureCreatedAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await PushOnceAsync(message, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < MaxConflictRetries)
            {
                // The link changed while we worked (a newer event); read it again and decide afresh.
            }
        }
    }

    public async Task RecordFailureAsync(string messageText, long dequeueCount, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return;
        }

        await bootstrap.EnsureCreatedAsync(cancellationToken);
        var record = await ledger.GetAsync(message.EmailKey, cancellationToken);
        var link = record?.Links.FirstOrDefault(l => l.SalesforceId == message.SalesforceId);
        if (link is null || link.LinkStatus is not (LinkStatus.Pending or LinkStatus.Failed))
        {
            return;
        }

        var last = link.LastErrorMessage ?? "no error was recorded";
        await SettleAsync(message, link, LinkStatus.Failed, link.LastErrorCode ?? "RETRIES_EXHAUSTED",
            $"Gave up after repeated transient failures; the nightly sync will retry. Last error: {last}", cancellationToken);
        Log.GaveUp(logger, message.SalesforceId, link.LastErrorCode);
    }

    private async Task<PushOutcome> PushOnceAsync(PushMessage message, CancellationToken cancellationToken)
    {
        var record = await ledger.GetAsync(message.EmailKey, cancellationToken);
        var link = record?.Links.FirstOrDefault(l => l.SalesforceId == message.SalesforceId);
        if (link is null || !SalesforceId.TryParse(link.SalesforceId, out var id, out _))
        {
            Log.UnknownLink(logger, message.SalesforceId);
            return PushOutcome.NothingToDo;
        }

        switch (link.LinkStatus)
        {
            case LinkStatus.Synced:
                Log.AlreadySynced(logger, id.Value);
                return PushOutcome.AlreadySynced;
            case LinkStatus.Dead or LinkStatus.NotRequired:
                return PushOutcome.NothingToDo;
        }

        if (!link.DesiredOptOut && !syncOptions.Value.PushResubscribes)
        {
            await SettleAsync(message, link, LinkStatus.NotRequired, null, "Resubscribes are not pushed (Sync__PushResubscribes is false).", cancellationToken);
            return PushOutcome.NothingToDo;
        }

        try
        {
            // The preflight is a Salesforce call too (cached), so its failures take the same paths as the write's.
            var field = (await fields.ResolveAsync(cancellationToken)).For(id.ObjectType);
            if (!field.IsUsable || field.FieldName is null)
            {
                await SettleAsync(message, link, LinkStatus.Blocked, "FIELD_NOT_USABLE", field.Problem ?? "The opt-out field is not usable.", cancellationToken);
                Log.Blocked(logger, id.Value, "FIELD_NOT_USABLE");
                return PushOutcome.Blocked;
            }

            await salesforce.UpdateRecordAsync(id, new Dictionary<string, object?> { [field.FieldName] = link.DesiredOptOut }, cancellationToken);
        }
        catch (SalesforceApiException ex) when (ex.Kind == SalesforceErrorKind.NeedsRedirect)
        {
            return await RedirectAsync(message, record!, link, id, ex, cancellationToken);
        }
        catch (SalesforceApiException ex) when (ex.Kind != SalesforceErrorKind.Transient)
        {
            return await SettleFailureAsync(message, link, id, ex, cancellationToken);
        }
        catch (Exception ex) when (ex is not RequestFailedException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            // Transient after the client's own retries: note why, then let the queue retry with backoff.
            link.Attempts++;
            link.LastErrorCode = ex is SalesforceApiException sfe ? sfe.ErrorCode ?? "TRANSIENT" : ex.GetType().Name;
            link.LastErrorMessage = ex.Message;
            await ledger.UpdateLinkAsync(link, cancellationToken);
            Log.Transient(logger, id.Value, link.LastErrorCode);
            throw;
        }

        await SettleAsync(message, link, LinkStatus.Synced, null, null, cancellationToken);
        Log.Synced(logger, id.Value, timeProvider.GetUtcNow() - message.EnqueuedAt);
        return PushOutcome.Synced;
    }

    private async Task<PushOutcome> SettleFailureAsync(PushMessage message, RecordLinkEntity link, SalesforceId id, SalesforceApiException ex, CancellationToken cancellationToken)
    {
        var code = ex.ErrorCode ?? ex.Kind.ToString();
        if (ex.Kind == SalesforceErrorKind.LimitExceeded)
        {
            await SettleAsync(message, link, LinkStatus.Deferred, code, "The org's daily API limit is reached; the nightly sync will write it.", cancellationToken);
            Log.Deferred(logger, id.Value);
            return PushOutcome.Deferred;
        }

        if (ex.Kind == SalesforceErrorKind.Authentication || code is "INVALID_FIELD" or "INVALID_FIELD_FOR_INSERT_UPDATE")
        {
            // A field or credential problem is the org's configuration, not this record: re-check the field next time.
            fields.Invalidate();
            await SettleAsync(message, link, LinkStatus.Blocked, code, ex.Message, cancellationToken);
            Log.Blocked(logger, id.Value, code);
            return PushOutcome.Blocked;
        }

        await SettleAsync(message, link, LinkStatus.Failed, code, ex.Message, cancellationToken);
        Log.Failed(logger, id.Value, code);
        return PushOutcome.Failed;
    }

    private async Task<PushOutcome> RedirectAsync(PushMessage message, LedgerRecord record, RecordLinkEntity link, SalesforceId id, SalesforceApiException ex, CancellationToken cancellationToken)
    {
        var code = ex.ErrorCode ?? RecordRedirectResolver.Deleted;
        var redirect = (await redirects.ResolveAsync([(id, code)], cancellationToken))[0];
        if (redirect.Target is not { } target)
        {
            await SettleAsync(message, link, LinkStatus.Dead, code, redirect.DeadReason, cancellationToken);
            return PushOutcome.Failed;
        }

        // Link the survivor (or converted contact) to the address, then write it through the normal path.
        var existing = record.Links.FirstOrDefault(l => l.SalesforceId == target.Value);
        if (existing is null)
        {
            await ledger.AddLinkAsync(record.State, target, link.DesiredOptOut, "redirect", link.RequestedByEventId ?? message.EventId, cancellationToken);
        }

        var detail = code == RecordRedirectResolver.ConvertedLead
            ? $"Converted to contact {target.Value}; writes go there."
            : $"Merged into {target.Value}; writes go there.";
        await SettleAsync(message, link, LinkStatus.Dead, code, detail, cancellationToken);
        Log.Redirected(logger, id.Value, target.Value, code);

        var outcome = await PushOnceAsync(message with { SalesforceId = target.Value, ObjectType = target.SObjectName }, cancellationToken);
        return outcome is PushOutcome.Synced or PushOutcome.AlreadySynced ? PushOutcome.Redirected : outcome;
    }

    private async Task SettleAsync(PushMessage message, RecordLinkEntity link, LinkStatus status, string? code, string? detail, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        link.Status = status.ToString();
        link.Attempts++;
        link.LastErrorCode = code;
        link.LastErrorMessage = detail;
        if (status == LinkStatus.Synced)
        {
            link.SyncedAt = now;
            link.SyncedEventId = link.RequestedByEventId ?? message.EventId;
        }

        await ledger.UpdateLinkAsync(link, cancellationToken);
        await audit.AppendAsync(
            AuditEntity.ForWrite(link, message.EventId, "push", status.ToString().ToLowerInvariant(), code is null ? detail : $"{code}: {detail}", now, message.OccurredAt),
            cancellationToken);
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

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Salesforce refused {SalesforceId} permanently ({ErrorCode}); recorded on the link")]
        public static partial void Failed(ILogger logger, string salesforceId, string errorCode);

        [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Push to {SalesforceId} is blocked by configuration ({ErrorCode}); the nightly sync retries once it is fixed")]
        public static partial void Blocked(ILogger logger, string salesforceId, string errorCode);

        [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Daily API limit reached; push to {SalesforceId} deferred to the nightly sync")]
        public static partial void Deferred(ILogger logger, string salesforceId);

        [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "{SalesforceId} is gone ({ErrorCode}); following it to {TargetId}")]
        public static partial void Redirected(ILogger logger, string salesforceId, string targetId, string errorCode);

        [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Transient failure pushing to {SalesforceId} ({ErrorCode}); the queue will retry")]
        public static partial void Transient(ILogger logger, string salesforceId, string errorCode);

        [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Push to {SalesforceId} exhausted its attempts ({ErrorCode}); marked failed for the nightly sync")]
        public static partial void GaveUp(ILogger logger, string salesforceId, string? errorCode);

        [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Push message for {SalesforceId} names no ledger link; nothing to do")]
        public static partial void UnknownLink(ILogger logger, string salesforceId);

        [LoggerMessage(EventId = 209, Level = LogLevel.Error, Message = "A push message could not be read and was dropped; the ledger still holds its state")]
        public static partial void Unreadable(ILogger logger, Exception exception);
    }
}
