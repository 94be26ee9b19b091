using UnsubscribeSync.Functions.Status;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Status;

/// <summary><c>GET /api/status/page</c>: the page over the real composition root, Azurite and the sandbox, and its renderer.</summary>
public sealed class StatusPageTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Run_KeyInQuery_ReturnsSelfContainedHtmlWithChecksCountsAndCharts()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(2, 3, (i, link) =>
        {
            if (i == 0)
            {
                link.MarkFailed("FIELD_CUSTOM_VALIDATION_EXCEPTION", "<b>rule</b>", attempted: true, now);
            }
        });
        await app.CountLedgerAsync();
        await app.SeedRunAsync(now.AddDays(-2), new SyncCounters { RecordsRead = 50, Written = 4 });

        // Act
        var outcome = await app.GetPageAsync();

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.StartsWith("text/html", outcome.ContentType);
        Assert.Equal("no-referrer", outcome.Headers["Referrer-Policy"].ToString());
        Assert.StartsWith("default-src 'none'", outcome.Headers.ContentSecurityPolicy.ToString());
        var html = outcome.Body;
        Assert.Contains("data-check=\"opt-out-field\"", html);
        Assert.Contains("data-testid=\"nightly-runs\"", html);
        Assert.Contains("data-testid=\"writes-per-day\"", html);
        Assert.Contains("Failed: FIELD_CUSTOM_VALIDATION_EXCEPTION", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NoKey_Returns401Problem()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);

        // Act
        var outcome = await app.GetPageAsync(queryKey: null);

        // Assert
        Assert.Equal(401, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:admin-key", outcome.Json["type"]!.GetValue<string>());
    }

    [Fact]
    public void Render_TextFromSalesforce_IsHtmlEncoded()
    {
        // Arrange
        var report = new StatusReport(
            DateTimeOffset.UnixEpoch, CheckStatus.Fail,
            [new StatusCheck("opt-out-field", "Field", CheckStatus.Fail, "field <img onerror=x> on Lead")],
            null, null, new NightlyView(true, "0 0 4 * * *", null, []), new ApiUsageView(null, null, null, null, 75, false));

        // Act
        var html = StatusPage.Render(report);

        // Assert
        Assert.Contains("field &lt;img onerror=x&gt; on Lead", html);
        Assert.DoesNotContain("<img", html);
    }
}
