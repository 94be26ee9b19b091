using Azure.Storage.Blobs;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The nightly run's report notes the check of the previous day's audit chain (issue 15).</summary>
public sealed class AuditChainNightlyTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_DayAfterEvents_ReportNotesYesterdaysChainVerified()
    {
        // Arrange: an unsubscribe on 28 November chains its audit entry into that day's blob.
        var container = "chain-" + Guid.NewGuid().ToString("N")[..10];
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["AuditChain:Container"] = container });
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("chained@example.com", optedOut: false)], Ct);
        await h.UnsubscribeAsync("evt-chain", "chained@example.com", ids[0], h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromDays(1));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        var chain = Assert.IsType<AuditChainSummary>(SyncHarness.Report(run).AuditChain);
        Assert.Equal(("2026-11-28", true, (bool?)true), (chain.Day, chain.Verified, chain.Intact));
        Assert.True(chain.Lines >= 1);
        Assert.Null(chain.Break);
        var verified = await new AuditChainVerifier(new AuditChainStorage(new BlobServiceClient(h.Storage.ConnectionString).GetBlobContainerClient(container)))
            .VerifyAsync(new DateOnly(2026, 11, 28), Ct);
        Assert.Equal((verified.Lines, verified.LastHash), (chain.Lines, chain.LastHash));
    }
}
