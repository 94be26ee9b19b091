using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly.Timeout;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>The body of a notification: the change exactly as the feed shows it, under a contract version.</summary>
public sealed record NotificationBody(int V, ConsentChangeView Change)
{
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static NotificationBody FromUtf8(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<NotificationBody>(json, JsonOptions) ?? throw new FormatException("The notification body is empty.");
}

/// <summary>
/// Posts queued notifications to <c>Notify__Url</c>, and records those that exhausted their attempts, so none is lost
/// silently: each failed attempt leaves its error in the feed table, and the poison queue's drain marks the failure
/// final and writes it into the address's audit trail.
/// </summary>
public sealed partial class NotificationSender(
    IConsentFeed feed,
    IAuditLog audit,
    NotificationClient client,
    NotificationRules rules,
    TimeProvider timeProvider,
    ILogger<NotificationSender> logger)
{
    private const string Channel = "notify";

    /// <summary>Sends one notification. Throws when the receiver did not take it, so the queue tries again.</summary>
    public async Task SendAsync(string messageText, long dequeueCount, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return;
        }

        if (!rules.IsEnabled)
        {
            // Switched off since it was queued: the feed still has the change, so nothing is lost by not sending it.
            Log.SwitchedOff(logger, message.Sequence);
            return;
        }

        var entry = await feed.GetEntryAsync(message.Sequence, cancellationToken);
        if (entry is null)
        {
            Log.NoEntry(logger, message.Sequence);
            return;
        }

        var body = new NotificationBody(NotificationBody.CurrentVersion, ConsentChangeView.From(entry)).ToUtf8();
        try
        {
            await client.PostAsync(entry.Sequence, body, cancellationToken);
        }
        catch (Exception ex) when (Describe(ex, cancellationToken) is { } error)
        {
            var attempts = (int)Math.Min(dequeueCount, int.MaxValue);
            await feed.SaveNotificationFailureAsync(
                new NotificationFailureEntity { Sequence = entry.Sequence, EmailKey = entry.EmailKey, Attempts = attempts, LastError = error, LastAttemptAt = timeProvider.GetUtcNow() },
                cancellationToken);
            Log.AttemptFailed(logger, entry.Sequence, attempts, error);
            throw;
        }

        var now = timeProvider.GetUtcNow();
        await audit.AppendAsync(AuditEntry(entry, "notified", $"Change {entry.Sequence} posted to the notification URL.", now), cancellationToken);
        if (dequeueCount > 1)
        {
            await feed.DeleteNotificationFailureAsync(entry.Sequence, cancellationToken);
        }

        Log.Delivered(logger, entry.Sequence, entry.EmailKey[..12], now - entry.PublishedAt);
    }

    /// <summary>Records a notification that exhausted its attempts (from the poison queue). Never throws for what it cannot fix.</summary>
    public async Task RecordFailureAsync(string messageText, CancellationToken cancellationToken)
    {
        if (!TryRead(messageText, out var message))
        {
            return;
        }

        var now = timeProvider.GetUtcNow();
        var entry = await feed.GetEntryAsync(message.Sequence, cancellationToken);
        var failure = await feed.GetNotificationFailureAsync(message.Sequence, cancellationToken)
            ?? new NotificationFailureEntity { Sequence = message.Sequence, EmailKey = entry?.EmailKey ?? string.Empty, LastError = "no error was recorded", LastAttemptAt = now };
        failure.GaveUp = true;
        failure.GaveUpAt = now;
        await feed.SaveNotificationFailureAsync(failure, cancellationToken);
        if (entry is not null)
        {
            var detail = string.Create(CultureInfo.InvariantCulture,
                $"Gave up on change {entry.Sequence} after {failure.Attempts} attempts; last error: {failure.LastError}. The change is in the feed, where the sender can read it.");
            await audit.AppendAsync(AuditEntry(entry, "notify-failed", detail, now), cancellationToken);
        }

        Log.GaveUp(logger, message.Sequence, failure.Attempts, failure.LastError ?? "none");
    }

    private static AuditEntity AuditEntry(FeedEntryEntity entry, string outcome, string detail, DateTimeOffset now) => new()
    {
        PartitionKey = entry.EmailKey,
        RowKey = string.Create(CultureInfo.InvariantCulture, $"{now.UtcDateTime:yyyyMMddTHHmmssfffffff}|notify|{FeedKeys.Pad(entry.Sequence)}|{outcome}"),
        Kind = "notify",
        EventId = entry.EventId,
        Type = entry.Type,
        Source = entry.Source,
        Channel = Channel,
        OccurredAt = entry.OccurredAt,
        RecordedAt = now,
        SalesforceId = entry.SalesforceId,
        Outcome = outcome,
        Detail = detail,
    };

    /// <summary>What went wrong with a POST, safe to store and log; null for exceptions that are not a delivery failure.</summary>
    private static string? Describe(Exception exception, CancellationToken callerToken) => exception switch
    {
        NotificationRejectedException rejected => string.Create(CultureInfo.InvariantCulture, $"HTTP {rejected.StatusCode}"),
        HttpRequestException http => $"no response ({http.HttpRequestError})",
        TimeoutRejectedException => "timed out",
        OperationCanceledException when !callerToken.IsCancellationRequested => "timed out",
        _ => null,
    };

    private bool TryRead(string messageText, out NotificationMessage message)
    {
        try
        {
            message = NotificationMessage.FromJson(messageText);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            // Retrying cannot fix a message we cannot read; the change itself is in the feed.
            Log.Unreadable(logger, ex);
            message = null!;
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 640, Level = LogLevel.Information, Message = "Notified the sender of change {Sequence} (address {AddressId}); {Latency} after it entered the feed")]
        public static partial void Delivered(ILogger logger, long sequence, string addressId, TimeSpan latency);

        [LoggerMessage(EventId = 641, Level = LogLevel.Warning, Message = "Notification of change {Sequence} failed on attempt {Attempt}: {Error}; the queue retries it")]
        public static partial void AttemptFailed(ILogger logger, long sequence, int attempt, string error);

        [LoggerMessage(EventId = 642, Level = LogLevel.Error, Message = "Notification of change {Sequence} exhausted its {Attempts} attempts ({Error}); recorded as failed in the feed table and the audit")]
        public static partial void GaveUp(ILogger logger, long sequence, int attempts, string error);

        [LoggerMessage(EventId = 643, Level = LogLevel.Warning, Message = "Notification of change {Sequence} not sent: Notify:Url is no longer set")]
        public static partial void SwitchedOff(ILogger logger, long sequence);

        [LoggerMessage(EventId = 644, Level = LogLevel.Error, Message = "Notification names change {Sequence}, which is not in the feed; dropped")]
        public static partial void NoEntry(ILogger logger, long sequence);

        [LoggerMessage(EventId = 645, Level = LogLevel.Error, Message = "A notification message could not be read and was dropped; the change is in the feed")]
        public static partial void Unreadable(ILogger logger, Exception exception);
    }
}
