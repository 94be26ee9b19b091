using System.Reflection;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// Does what the Functions host's queue listener does with one message (Core Tools can't run here):
/// receive it, invoke the function, delete it on success; on an exception release it for a retry, or
/// move it to <c>{queue}-poison</c> once its dequeue count reaches host.json's <c>maxDequeueCount</c>.
/// </summary>
public sealed class QueueHostEmulator(QueueServiceClient queues)
{
    /// <summary>host.json's <c>extensions.queues.maxDequeueCount</c>, read from the file the app ships.</summary>
    public static int MaxDequeueCount { get; } = ReadMaxDequeueCount();

    /// <summary>Processes one visible message; returns false when the queue was empty.</summary>
    public async Task<bool> DeliverOnceAsync(string queueName, Func<QueueMessage, CancellationToken, Task> function, CancellationToken cancellationToken)
    {
        var queue = queues.GetQueueClient(queueName);
        var message = await ReceiveAsync(queue, cancellationToken);
        if (message is null)
        {
            return false;
        }

        try
        {
            await function(message, cancellationToken);
        }
        catch (Exception) when (message.DequeueCount >= MaxDequeueCount)
        {
            var poison = queues.GetQueueClient(queueName + "-poison");
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            return true;
        }
        catch (Exception)
        {
            // host.json's visibilityTimeout spaces real retries; tests release the message at once.
            await SettleAsync(() => queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken));
            return true;
        }

        await SettleAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken));
        return true;
    }

    // The host's listener polls again when a receive fails; the emulator retries a receive a loaded Azurite timed out
    // (nothing was handed out, or what was stays invisible until its lease ends, as on the host).
    private static async Task<QueueMessage?> ReceiveAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return (await queue.ReceiveMessageAsync(TimeSpan.FromMinutes(10), cancellationToken)).Value;
            }
            catch (Exception ex) when (attempt < 5 && IsStorageTimeout(ex))
            {
            }
        }
    }

    /// <summary>Delivers messages until the queue is empty (or <paramref name="maxDeliveries"/> is reached).</summary>
    public async Task<int> DrainAsync(string queueName, Func<QueueMessage, CancellationToken, Task> function, CancellationToken cancellationToken, int maxDeliveries = 1000)
    {
        var count = 0;
        while (count < maxDeliveries && await DeliverOnceAsync(queueName, function, cancellationToken))
        {
            count++;
        }

        return count;
    }

    // A loaded Azurite can time out a delete or update that it did carry out; the SDK's retry then finds the message
    // gone (404) or holding a new pop receipt (400 PopReceiptMismatch). Either way the first call took effect. When it
    // times out altogether, the host gives up as well: the message stays invisible until its lease ends and comes back
    // as a redelivery (after a delete that failed) or a retry (after a release that failed), which is what the app must
    // survive anyway. So the emulator does the same instead of failing the test on the emulator's own request.
    private static async Task SettleAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404 || ex.ErrorCode == "PopReceiptMismatch")
        {
        }
        catch (Exception ex) when (IsStorageTimeout(ex))
        {
        }
    }

    private static bool IsStorageTimeout(Exception ex) => ex switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.All(IsStorageTimeout),
        Azure.RequestFailedException failed => failed.Status is 0 or >= 500,
        TaskCanceledException => !TestContext.Current.CancellationToken.IsCancellationRequested,
        _ => false,
    };

    private static int ReadMaxDequeueCount()
    {
        var root = typeof(QueueHostEmulator).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "host.json")))!;
        return host["extensions"]!["queues"]!["maxDequeueCount"]!.GetValue<int>();
    }
}
