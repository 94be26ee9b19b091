using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>Salesforce error messages that echo addresses (a rejected write, the resolve-by-email query) keep none in logs or tables.</summary>
public sealed class SalesforceErrorScrubbingTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private const string Owed = "carol.owed@example.com";
    private const string Unknown = "no.id.scrub@example.com";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_SalesforceErrorsEchoAddresses_StoresAndLogsNone()
    {
        // Arrange: one owed opt-out whose write Salesforce rejects naming the address, and one address to look up by email.
        var collector = new FakeLogCollector();
        await using var h = await SyncHarness.CreateAsync(
            sandbox,
            new Dictionary<string, string?> { ["Sync:ResolveByEmail"] = "true", ["Sync:BatchMaxAttempts"] = "1" },
            configureServices: services =>
            {
                services.AddSingleton<ILoggerFactory>(new LoggerFactory([new FakeLoggerProvider(collector)]));
                services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
            });
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(Owed, optedOut: false)], Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.RunNightlyAsync();
        await h.UnsubscribeAsync("evt-scrub-owed", Owed, ids[0], h.Storage.Time.GetUtcNow());
        await h.UnsubscribeAsync("evt-scrub-unknown", Unknown, null, h.Storage.Time.GetUtcNow());
        await sandbox.Control.AddFaultsAsync(
            Ct,
            new SandboxFault("any", 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", $"Contact {Owed} is on the do-not-touch list", RecordId: ids[0]));
        await h.AdvanceAsync(TimeSpan.FromHours(1));

        // Act: a run whose write fails per record; then a run whose queries (the resolve by email among them) fail echoing SOQL.
        var rejected = await h.RunNightlyAsync();
        await sandbox.Control.ClearFaultsAsync(Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        await h.TickAsync();
        Assert.Equal(3, await h.DrainAsync(maxBatches: 3));
        await sandbox.Control.AddFaultsAsync(
            Ct,
            new SandboxFault("query", 400, "MALFORMED_QUERY", $"\nSELECT Id, Email, HasOptedOutOfEmail FROM Contact WHERE Email IN ('{Unknown}','{Owed}')\n^\nERROR at Row:1:Column:40\nunexpected token: '('"));
        await h.DrainAsync();
        var queried = await h.LatestRunAsync();

        // Assert
        var link = Assert.Single((await h.GetLedgerAsync(Owed))!.Links);
        Assert.Equal("FIELD_CUSTOM_VALIDATION_EXCEPTION", link.LastErrorCode);
        Assert.Contains("[email]", link.LastErrorMessage, StringComparison.Ordinal);
        Assert.True(SyncHarness.Report(queried).BatchesAbandoned > 0);
        var stored = new List<string?> { rejected.ReportJson, queried.ReportJson, link.LastErrorMessage };
        var audit = h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.AuditTable);
        await foreach (var entry in audit.QueryAsync<AuditEntity>(cancellationToken: Ct))
        {
            stored.Add(entry.Detail);
            stored.Add(entry.Reason);
        }

        var logged = collector.GetSnapshot().SelectMany(r => new[] { r.Message, r.Exception?.ToString() }).ToList();
        Assert.Contains(logged, m => m?.Contains("MALFORMED_QUERY", StringComparison.Ordinal) == true);
        foreach (var text in stored.Concat(logged))
        {
            Assert.DoesNotContain(Owed, text ?? string.Empty, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Unknown, text ?? string.Empty, StringComparison.OrdinalIgnoreCase);
        }
    }
}
