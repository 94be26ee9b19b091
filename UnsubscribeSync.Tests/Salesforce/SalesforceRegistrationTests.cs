using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceRegistrationTests
{
    [Fact]
    public void AddSalesforce_ClientPipeline_HasOneResilienceHandlerOutsideSignIn()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var factory = services.GetRequiredService<IHttpMessageHandlerFactory>();

        // Act
        var chain = new List<Type>();
        for (HttpMessageHandler? current = factory.CreateHandler(nameof(ISalesforceClient)); current is not null; current = (current as DelegatingHandler)?.InnerHandler)
        {
            chain.Add(current.GetType());
        }

        // Assert
        var ours = chain.Where(t => t == typeof(ResilienceHandler) || t.Assembly == typeof(ISalesforceClient).Assembly).ToList();
        Assert.Equal([typeof(ResilienceHandler), typeof(SalesforceAuthenticationHandler), typeof(SalesforceLimitInfoHandler)], ours);
        Assert.Equal(typeof(StubHttpMessageHandler), chain[^1]);
    }

    [Fact]
    public void AddSalesforce_Singletons_AreShared()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);

        // Act
        var usage = services.GetRequiredService<ISalesforceApiUsage>();
        var resolver = services.GetRequiredService<IOptOutFieldResolver>();

        // Assert
        Assert.Same(usage, services.GetRequiredService<ISalesforceApiUsage>());
        Assert.Same(resolver, services.GetRequiredService<IOptOutFieldResolver>());
        Assert.Same(services.GetRequiredService<ISalesforceTokenProvider>(), services.GetRequiredService<ISalesforceTokenProvider>());
        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public async Task Logs_RetryAndSessionReplay_NeverContainTokensSecretsOrQueries()
    {
        // Arrange
        var calls = 0;
        var handler = SalesforceTestHost.Salesforce((_, _) => ++calls switch
        {
            1 => StubHttpMessageHandler.Json(HttpStatusCode.Unauthorized, """[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"""),
            2 => StubHttpMessageHandler.Json(HttpStatusCode.ServiceUnavailable, """[{"message":"server too busy","errorCode":"SERVER_UNAVAILABLE"}]"""),
            _ => StubHttpMessageHandler.Json(HttpStatusCode.OK, """{"totalSize":0,"done":true,"records":[]}"""),
        });
        using var services = SalesforceTestHost.Build(handler, logging: b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        var client = services.GetRequiredService<ISalesforceClient>();
        var collector = services.GetFakeLogCollector();

        // Act
        await client.QueryAsync<object>($"SELECT Id FROM Contact WHERE Email = {Soql.Quote("secret.person@example.com")}", TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

        // Assert
        var messages = collector.GetSnapshot().Select(r => r.Message).ToList();
        Assert.Contains(messages, m => m.Contains("session expired", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(messages, m => m.Contains("retrying", StringComparison.OrdinalIgnoreCase));
        Assert.All(messages, m =>
        {
            Assert.DoesNotContain("token-1", m, StringComparison.Ordinal);
            Assert.DoesNotContain("client-secret", m, StringComparison.Ordinal);
            Assert.DoesNotContain("example.com", m, StringComparison.Ordinal);
            Assert.DoesNotContain("?q=", m, StringComparison.Ordinal);
        });
    }
}
