using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Status;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Status;

/// <summary>
/// The status page as a person sees it: served over real HTTP by the page's function class, opened in Debian's headless
/// Chromium through Microsoft.Playwright (scripts/test.sh installs the browser when it is missing). Screenshots go to
/// TestResults/; docs/images/status-page.png in the README is one of them.
/// </summary>
public sealed class StatusPageBrowserTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static readonly string Chromium = Environment.GetEnvironmentVariable("UNSUBSCRIBESYNC_CHROMIUM") ?? "/usr/bin/chromium";

    private static readonly string Root = Path.GetFullPath(typeof(StatusPageBrowserTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public async ValueTask DisposeAsync() => await sandbox.Control.ResetAsync(CancellationToken.None);

    [Fact]
    public async Task StatusPage_HealthyDeploymentInChromium_ShowsPassingChecksCountsAndCharts()
    {
        // Arrange: a month of nightly runs, a ledger with a few stopped writes, one census.
        await using var app = await StatusApp.CreateAsync(sandbox);
        await SeedMonthAsync(app);
        await using var server = await PageServer.StartAsync(app);
        await using var browser = await BrowserSession.LaunchAsync();

        // Act
        var page = await browser.OpenAsync(server.PageUrl(StatusApp.AdminKey));

        // Assert: what a person reads.
        Assert.Equal("UnsubscribeSync status", await page.TitleAsync());
        Assert.Equal("PASS", (await page.GetByTestId("overall").InnerTextAsync()).Trim());
        var checks = page.GetByTestId("checks").Locator("tr");
        Assert.True(await checks.CountAsync() >= 5);
        foreach (var name in new[] { "nightly-sync-enabled", "opt-out-field", "salesforce-sign-in", "storage" })
        {
            var row = page.Locator($"tr[data-check=\"{name}\"]");
            Assert.True(await row.IsVisibleAsync(), $"check {name} is not visible");
            Assert.Contains("PASS", await row.InnerTextAsync(), StringComparison.Ordinal);
        }

        Assert.True(await page.GetByText("Failed: UNABLE_TO_LOCK_ROW").First.IsVisibleAsync());

        // The pictures are drawn, with bars, and each carries an accessible name.
        foreach (var chart in new[] { "nightly-runs", "writes-per-day" })
        {
            var svg = page.GetByTestId(chart);
            Assert.True(await svg.IsVisibleAsync(), $"chart {chart} is not visible");
            Assert.True(await svg.Locator("rect").CountAsync() > 10, $"chart {chart} has no bars");
            Assert.True((await svg.BoundingBoxAsync())!.Width > 300);
        }

        Assert.True(await page.GetByRole(AriaRole.Img, new() { Name = "links by status" }).IsVisibleAsync());

        // Nothing was fetched beyond the page itself (no external assets, no script).
        Assert.Equal([server.PageUrl(StatusApp.AdminKey)], browser.Requests);
        Assert.Empty(browser.ConsoleErrors);
        await browser.ScreenshotAsync(page, "status-page.png");
    }

    [Fact]
    public async Task StatusPage_OptOutFieldMissingInChromium_ShowsTheFailingCheckAndWhatToDo()
    {
        // Arrange: the custom field is not installed on Lead.
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut" });
        await app.CountLedgerAsync();
        await using var server = await PageServer.StartAsync(app);
        await using var browser = await BrowserSession.LaunchAsync();

        // Act
        var page = await browser.OpenAsync(server.PageUrl(StatusApp.AdminKey));

        // Assert
        Assert.Equal("FAIL", (await page.GetByTestId("overall").InnerTextAsync()).Trim());
        var row = page.Locator("tr[data-check=\"opt-out-field\"]");
        var text = await row.InnerTextAsync();
        Assert.Contains("FAIL", text, StringComparison.Ordinal);
        Assert.Contains("not found on Lead", text, StringComparison.Ordinal);
        Assert.Contains("Sync__MarketoSalesOptOutField", text, StringComparison.Ordinal);
        await browser.ScreenshotAsync(page, "status-page-failing.png");
    }

    [Fact]
    public async Task StatusPage_WrongKeyInChromium_ShowsTheProblemNotThePage()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        await using var server = await PageServer.StartAsync(app);
        await using var browser = await BrowserSession.LaunchAsync();

        // Act
        var page = await browser.OpenAsync(server.PageUrl("not-the-admin-key-0123456789abcdef0123"), expectOk: false);

        // Assert
        Assert.Equal(401, browser.LastStatus);
        Assert.Contains("admin key is not valid", await page.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.GetByTestId("checks").CountAsync());
    }

    private static async Task SeedMonthAsync(StatusApp app)
    {
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(40, 3, (i, link) =>
        {
            var day = now.AddDays(-(i % 30));
            switch (i % 17)
            {
                case 0: link.MarkFailed("UNABLE_TO_LOCK_ROW", "locked", attempted: true, day); break;
                case 1: link.MarkDeferred("API_BUDGET", "budget", attempted: false, day); break;
                case 2: link.Request(true, "evt-owed-" + i, now.AddHours(-3)); break;
                default: link.MarkSynced(day, attempted: true, "HasOptedOutOfEmail"); break;
            }
        });
        for (var d = 30; d >= 1; d--)
        {
            await app.SeedRunAsync(now.AddDays(-d), new SyncCounters { RecordsRead = 900 + (d * 37 % 400), Written = d * 7 % 60, Deferred = d % 9 == 0 ? 12 : 0, FailedByCode = d % 6 == 0 ? new() { ["UNABLE_TO_LOCK_ROW"] = 3 } : [] });
        }

        await app.CountLedgerAsync();
    }

    /// <summary>The page's function class behind Kestrel on a free loopback port: the browser gets real HTTP, headers included.</summary>
    private sealed class PageServer : IAsyncDisposable
    {
        private readonly WebApplication _web;

        private PageServer(WebApplication web, string baseUrl)
        {
            _web = web;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public string PageUrl(string key) => $"{BaseUrl}/api/status/page?key={Uri.EscapeDataString(key)}";

        public static async Task<PageServer> StartAsync(StatusApp app)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var web = builder.Build();
            var function = new GetStatusPage(app.Services.GetRequiredService<StatusHandler>());
            web.MapGet("/api/status/page", (HttpRequest request, CancellationToken ct) => function.Run(request, ct));
            await web.StartAsync(Ct);
            var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new PageServer(web, address.TrimEnd('/'));
        }

        public async ValueTask DisposeAsync()
        {
            await _web.StopAsync(CancellationToken.None);
            await _web.DisposeAsync();
        }
    }

    /// <summary>Headless Debian Chromium with the flags this machine's closed network needs; records every request and console error.</summary>
    private sealed class BrowserSession : IAsyncDisposable
    {
        private readonly IPlaywright _playwright;
        private readonly IBrowser _browser;
        private readonly IPage _page;

        private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
        {
            _playwright = playwright;
            _browser = browser;
            _page = page;
            _page.Request += (_, request) => Requests.Add(request.Url);
            _page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    ConsoleErrors.Add(message.Text);
                }
            };
        }

        public List<string> Requests { get; } = [];

        public List<string> ConsoleErrors { get; } = [];

        public int? LastStatus { get; private set; }

        public static async Task<BrowserSession> LaunchAsync()
        {
            if (!File.Exists(Chromium))
            {
                // CI installs it (scripts/test.sh); a developer machine without it is told how, not passed silently.
                Assert.Fail($"Chromium is not at {Chromium}: run scripts/test.sh (it installs Debian's chromium package) or set UNSUBSCRIBESYNC_CHROMIUM.");
            }

            var playwright = await Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
            return new BrowserSession(playwright, browser, page);
        }

        public async Task<IPage> OpenAsync(string url, bool expectOk = true)
        {
            var response = await _page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
            LastStatus = response?.Status;
            if (expectOk)
            {
                Assert.Equal(200, LastStatus);
            }

            return _page;
        }

        public async Task ScreenshotAsync(IPage page, string name)
        {
            var folder = Path.Combine(Root, "TestResults");
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = true });
        }

        public async ValueTask DisposeAsync()
        {
            await _browser.DisposeAsync();
            _playwright.Dispose();
        }
    }
}
