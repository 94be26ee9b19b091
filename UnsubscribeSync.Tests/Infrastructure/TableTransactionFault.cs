using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>How a faulted transaction goes wrong.</summary>
public enum TransactionFaultKind
{
    /// <summary>Storage refuses the request (503) before it is carried out.</summary>
    Refused,

    /// <summary>Storage carries the request out, then the answer is lost (the worker crashes, or the connection drops).</summary>
    AnswerLost,
}

/// <summary>
/// Faults entity-group transactions on one of the app's tables while <see cref="On"/>, through an Azure SDK pipeline
/// policy on the app's own storage clients: each transaction on the table that <c>select</c> picks (asked in the order
/// they are sent, so it may count them) is refused, or carried out and its answer lost. At
/// <see cref="HttpPipelinePosition.PerCall"/> the fault reaches the app as it is; at
/// <see cref="HttpPipelinePosition.PerRetry"/> a lost answer is a connection failure the SDK's retry sends again.
/// </summary>
public sealed class TableTransactionFault(
    Func<StorageOptions, string> table, Func<string, bool> select, TransactionFaultKind kind, HttpPipelinePosition position)
{
    private int _injected;

    public volatile bool On;

    public int Injected => Volatile.Read(ref _injected);

    /// <summary>Registers the faulted clients; call before the app's own registrations.</summary>
    public void Install(IServiceCollection services) => services.AddSingleton(sp =>
    {
        var connection = TestStorage.DefaultConnectionString;
        var tableOptions = new TableClientOptions();
        tableOptions.Retry.MaxRetries = 2;
        tableOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        tableOptions.AddPolicy(new Policy(this, table(sp.GetRequiredService<IOptions<StorageOptions>>().Value)), position);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        return new StorageClients(new TableServiceClient(connection, tableOptions), new QueueServiceClient(connection, queueOptions));
    });

    private bool ShouldFault(HttpMessage message, string tableName)
    {
        if (!On || message.Request.Method != RequestMethod.Post || !message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
        {
            return false;
        }

        using var body = new MemoryStream();
        message.Request.Content?.WriteTo(body, message.CancellationToken);
        var text = Encoding.UTF8.GetString(body.ToArray());
        if (!text.Contains(tableName, StringComparison.Ordinal) || !select(text))
        {
            return false;
        }

        Interlocked.Increment(ref _injected);
        return true;
    }

    private sealed class Policy(TableTransactionFault fault, string tableName) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var fire = fault.ShouldFault(message, tableName);
            if (fire && fault.Kind == TransactionFaultKind.Refused)
            {
                throw new RequestFailedException(503, "The test's storage outage: the transaction was not carried out.");
            }

            await ProcessNextAsync(message, pipeline);
            if (fire)
            {
                // Status 0 is how the SDK reports a connection failure, which its retry policy sends again.
                throw new RequestFailedException(0, "The test's lost answer: the transaction was carried out but its answer never came.");
            }
        }
    }

    private TransactionFaultKind Kind => kind;
}
