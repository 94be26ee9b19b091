using Azure.Core;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>
/// The run report's counts under a storage answer lost in transit: the Azure SDK sends the ledger's transaction
/// again, the second copy conflicts with the first, and the ledger re-reads and finds the import already in place.
/// A clean-clone CI run once reported 2,999 of 3,000 imports this way.
/// </summary>
public sealed class ImportCountTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_LedgerAnswerLostAfterImportCommitted_CountsEveryImportOnce()
    {
        // Arrange: three opted-out Contacts the ledger has never seen; the first import's commit loses its answer.
        var fired = 0;
        var fault = new TableTransactionFault(
            o => o.LedgerTable,
            body => body.Contains("sf:", StringComparison.Ordinal) && Interlocked.Exchange(ref fired, 1) == 0,
            TransactionFaultKind.AnswerLost,
            HttpPipelinePosition.PerRetry);
        await using var h = await SyncHarness.CreateAsync(sandbox, configureServices: fault.Install);
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 3).Select(i => SandboxRecord.Contact($"sf.lost{i}@example.com", optedOut: true)), Ct);
        await h.AdvanceAsync(TimeSpan.FromHours(1));
        fault.On = true;

        // Act
        var run = await h.RunNightlyAsync();

        // Assert: the fault fired once, all three are unsubscribed in the ledger, and the report counts three imports.
        Assert.Equal(1, fault.Injected);
        for (var i = 0; i < 3; i++)
        {
            var record = await h.GetLedgerAsync($"sf.lost{i}@example.com");
            Assert.Equal(ConsentState.Unsubscribed, record?.State.ConsentState);
        }

        Assert.Equal(3, SyncHarness.Report(run).OptOutsImported);
    }
}
