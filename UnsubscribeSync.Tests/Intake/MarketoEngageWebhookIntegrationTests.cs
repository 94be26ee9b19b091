using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// The README's Marketo Engage template, rendered as Marketo renders it and sent as Marketo sends it, through the
/// HTTP function, the app's real composition root and Azurite.
/// </summary>
public sealed class MarketoEngageWebhookIntegrationTests : IAsyncLifetime
{
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
    private readonly TestStorage _storage = new();
    private ServiceProvider _services = null!;

    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = Build();
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    private ServiceProvider Build(string? zone = null) => AppServices.Build(
        _storage,
        sandbox: null,
        new Dictionary<string, string?> { ["Webhook:SenderTimeZone"] = zone },
        s => s.AddSingleton<TimeProvider>(_storage.Time));

    private string Render(string email, string? salesforceId, bool htmlEncode = false) => MarketoRendering.Render(
        MarketoRendering.ReadmeTemplate(),
        new Dictionary<string, object?>
        {
            ["lead.Id"] = 318_004L,
            ["lead.Email Address"] = email,
            ["lead.SFDC ID"] = salesforceId,
            ["system.dateTime"] = MarketoRendering.SystemDateTime(_storage.Time.GetUtcNow().AddSeconds(-2), Chicago),
            ["lead.Unsubscribed Reason"] = "Unsubscribed via the preference center",
        },
        htmlEncode);

    // As Marketo posts it: the template's custom headers, or none at all (its default Content-Type is not documented).
    private async Task<HttpOutcome> PostAsync(string body, string? contentType = "application/json")
    {
        var request = HttpTestExtensions.JsonRequest(body, contentType ?? string.Empty, new Dictionary<string, string> { ["x-functions-key"] = "key" });
        request.ContentType = contentType;
        var function = new ReceiveUnsubscribes(_services.GetRequiredService<WebhookHandler>());
        return await (await function.Run(request, Ct)).ExecuteAsync();
    }

    private Task<LedgerRecord?> LedgerAsync(string email) => _services.GetRequiredService<ILedgerStore>().GetAsync(EmailAddress.KeyOf(email), Ct);

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task Run_RenderedTemplate_RecordsTheUnsubscribeAndQueuesItsPush(string? contentType)
    {
        // Act
        var outcome = await PostAsync(Render("Jane.Doe@Example.com", "0035g00000ABCdeAAH"), contentType);

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        var id = Assert.Single(outcome.Json["accepted"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith("mkto-318004-", id, StringComparison.Ordinal);
        Assert.Empty(outcome.Json["warnings"]!.AsArray());
        var ledger = await LedgerAsync("jane.doe@example.com");
        Assert.Equal((nameof(ConsentState.Unsubscribed), id, "link"), (ledger!.State.State, ledger.State.StateEventId, ledger.State.StateSource));
        Assert.Equal(["0035g00000ABCdeAAH"], (await _storage.PeekPushMessagesAsync(Ct)).Select(m => m.SalesforceId));
    }

    [Fact]
    public async Task Run_SameRenderedRequestTwice_IsADuplicateAndQueuesOnePush()
    {
        // Arrange
        var body = Render("twice@example.com", "0035g00000ABCdeAAH");

        // Act
        var first = await PostAsync(body);
        _storage.Time.Advance(TimeSpan.FromSeconds(20));
        var second = await PostAsync(body);

        // Assert
        Assert.Equal(202, second.Status);
        Assert.Equal(first.Json["accepted"]![0]!.GetValue<string>(), Assert.Single(second.Json["duplicates"]!.AsArray())!.GetValue<string>());
        Assert.Empty(second.Json["accepted"]!.AsArray());
        Assert.Single(await _storage.PeekPushMessagesAsync(Ct));
    }

    [Fact]
    public async Task Run_PersonWithoutSalesforceId_IsKeptAwaitingAnId()
    {
        // Act: {{lead.SFDC ID:default=}} renders as "".
        var outcome = await PostAsync(Render("no.crm@example.com", salesforceId: null));

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Empty(outcome.Json["warnings"]!.AsArray());
        var ledger = await LedgerAsync("no.crm@example.com");
        Assert.True(ledger!.State.AwaitingSalesforceId);
        Assert.Empty(ledger.Links);
        Assert.Empty(await _storage.PeekPushMessagesAsync(Ct));
    }

    [Fact]
    public async Task Run_HtmlEncodedAddress_IsRecordedUnderTheRealAddress()
    {
        // Act
        var body = Render("O'Brien@Example.com", "0035g00000ABCdeAAH", htmlEncode: true);
        var outcome = await PostAsync(body);

        // Assert
        Assert.Contains("o&#39;brien", body.ToLowerInvariant(), StringComparison.Ordinal);
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.NotNull(await LedgerAsync("o'brien@example.com"));
        Assert.Null(await LedgerAsync("o&#39;brien@example.com"));
    }

    [Fact]
    public async Task Run_SenderTimeZoneSet_OrdersTheEventAtMarketosTime()
    {
        // Arrange
        _services.Dispose();
        _services = Build(zone: "America/Chicago");
        var rendered = _storage.Time.GetUtcNow().AddSeconds(-2);

        // Act
        var outcome = await PostAsync(Render("zoned@example.com", "0035g00000ABCdeAAH"));

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(rendered, (await LedgerAsync("zoned@example.com"))!.State.DecidedAt);
    }

    [Fact]
    public async Task Run_NotJsonUnderFormType_Returns415()
    {
        // Act: a template written as form fields instead of the README's JSON.
        var outcome = await PostAsync("email=jane%40example.com&marketoLeadId=318004", "application/x-www-form-urlencoded");

        // Assert
        Assert.Equal(415, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:media-type", outcome.Json["type"]!.GetValue<string>());
    }
}
