using System.Net;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Salesforce;

/// <summary>The call meter, fed by the handler that sees every request of the real client registration.</summary>
public sealed class SalesforceCallMeterTests
{
    private static readonly SalesforceId Contact = SalesforceId.Parse("003000000000001");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_RequestsWithTokenAndRetry_CountsEveryRequestSent()
    {
        // Arrange: the token request, one 503 that is retried, then the PATCH that succeeds.
        var attempts = 0;
        var handler = SalesforceTestHost.Salesforce((_, _) => ++attempts == 1
            ? StubHttpMessageHandler.Json(HttpStatusCode.ServiceUnavailable, """[{"errorCode":"SERVER_UNAVAILABLE","message":"busy"}]""")
            : StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        int counted;
        using (var scope = SalesforceCallMeter.Start())
        {
            await client.UpdateRecordAsync(Contact, new Dictionary<string, object?> { ["HasOptedOutOfEmail"] = true }, Ct);
            counted = scope.Calls;
        }

        // Assert
        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal(3, counted);
    }

    [Fact]
    public async Task Start_NestedScope_CountsInnerCallsInBoth()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();
        var fields = new Dictionary<string, object?> { ["HasOptedOutOfEmail"] = true };

        // Act
        using var outer = SalesforceCallMeter.Start();
        await client.UpdateRecordAsync(Contact, fields, Ct);
        int inner;
        using (var scope = SalesforceCallMeter.Start())
        {
            await client.UpdateRecordAsync(Contact, fields, Ct);
            inner = scope.Calls;
        }

        // Assert: the outer scope saw the token and both PATCHes, the inner one only its own PATCH.
        Assert.Equal((1, 3), (inner, outer.Calls));
    }

    [Fact]
    public async Task Start_ParallelFlows_CountsEachFlowSeparately()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();
        var fields = new Dictionary<string, object?> { ["HasOptedOutOfEmail"] = true };
        await client.UpdateRecordAsync(Contact, fields, Ct);

        async Task<int> FlowAsync(int writes)
        {
            using var scope = SalesforceCallMeter.Start();
            for (var i = 0; i < writes; i++)
            {
                await client.UpdateRecordAsync(Contact, fields, Ct);
            }

            return scope.Calls;
        }

        // Act
        var counts = await Task.WhenAll(Task.Run(() => FlowAsync(2), Ct), Task.Run(() => FlowAsync(5), Ct));

        // Assert
        Assert.Equal([2, 5], counts);
    }
}
