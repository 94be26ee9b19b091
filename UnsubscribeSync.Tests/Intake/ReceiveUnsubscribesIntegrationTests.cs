using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>The HTTP function end to end over the app's real composition root and Azurite.</summary>
public sealed class ReceiveUnsubscribesIntegrationTests : IAsyncLifetime
{
    private readonly TestStorage _storage = new();
    private ServiceProvider _services = null!;

    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // The host's start-up step creates the tables and queues before the first request.
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = AppServices.Build(_storage, sandbox: null);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    private async Task<HttpOutcome> PostAsync(IServiceProvider services, string body)
    {
        var function = new ReceiveUnsubscribes(services.GetRequiredService<WebhookHandler>());
        return await (await function.Run(HttpTestExtensions.JsonRequest(body), Ct)).ExecuteAsync();
    }

    private async Task<bool> IntakeRecordExistsAsync(string eventId)
    {
        var table = _storage.Clients.Tables.GetTableClient(_storage.Names.IntakeTable);
        await foreach (var _ in table.QueryAsync<Azure.Data.Tables.TableEntity>(e => e.PartitionKey == IntakeRecords.KeyOf(eventId), cancellationToken: Ct))
        {
            return true;
        }

        return false;
    }

    [Fact]
    public async Task Run_BatchOf100_AcceptsAllAndQueuesEach()
    {
        // Arrange
        var events = Enumerable.Range(0, 100).Select(i => new { id = $"evt-{i}", email = $"person{i}@example.com", salesforceId = "0035g00000ABCde" });

        // Act
        var outcome = await PostAsync(_services, HttpTestExtensions.ToJson(new { unsubscribes = events }));

        // Assert
        Assert.Equal(202, outcome.Status);
        Assert.Equal(100, outcome.Json["accepted"]!.AsArray().Count);
        var properties = await _storage.PushQueueClient.GetPropertiesAsync(Ct);
        Assert.Equal(100, properties.Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task Run_BatchWithOneBadEvent_RecordsTheOthersAndWritesNothingForIt()
    {
        // Arrange
        var body = """
            {"unsubscribes":[
              {"id":"ok-1","email":"ok@example.com","salesforceId":"0035g00000ABCde"},
              {"id":"bad-1","email":"not-an-address","salesforceId":"0035g00000ABCdf"},
              {"id":"ok-2","email":"late@example.com","occurredAt":"tomorrow","salesforceId":"0065g00000ABCde"}
            ]}
            """;

        // Act
        var outcome = await PostAsync(_services, body);

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["ok-1", "ok-2"], outcome.Json["accepted"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("bad-1", Assert.Single(outcome.Json["rejected"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(
            ["unsubscribes[2].salesforceId", "unsubscribes[2].occurredAt"],
            outcome.Json["warnings"]!.AsArray().Select(w => w!["field"]!.GetValue<string>()));
        var ledger = _services.GetRequiredService<ILedgerStore>();
        Assert.NotNull(await ledger.GetAsync(EmailAddress.KeyOf("ok@example.com"), Ct));
        var late = await ledger.GetAsync(EmailAddress.KeyOf("late@example.com"), Ct);
        Assert.NotNull(late);
        Assert.True(late.State.AwaitingSalesforceId);
        Assert.Equal(["0035g00000ABCdeAAH"], (await _storage.PeekPushMessagesAsync(Ct)).Select(m => m.SalesforceId));
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(DateTimeOffset.MaxValue, Ct).ToListAsync(Ct));
        Assert.False(await IntakeRecordExistsAsync("bad-1"));
    }

    [Fact]
    public async Task Run_StorageDown_Returns503AndRetryConvergesOnceStorageIsBack()
    {
        // Arrange: the same app pointed at storage that does not answer.
        await using var down = new TestStorage(TestStorage.UnreachableConnectionString);
        await using var downServices = AppServices.Build(down, sandbox: null);
        var body = """{"id":"evt-outage","email":"outage@example.com","salesforceId":"0035g00000ABCde"}""";

        // Act
        var during = await PostAsync(downServices, body);
        var after = await PostAsync(_services, body);
        var again = await PostAsync(_services, body);

        // Assert
        Assert.Equal(503, during.Status);
        Assert.Equal("30", during.Headers.RetryAfter.ToString());
        Assert.Equal("application/problem+json", during.ContentType);
        Assert.Equal(202, after.Status);
        Assert.Equal("evt-outage", after.Json["accepted"]![0]!.GetValue<string>());
        Assert.Equal("evt-outage", again.Json["duplicates"]![0]!.GetValue<string>());
        Assert.Equal(1, (await _storage.PushQueueClient.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
    }
}
