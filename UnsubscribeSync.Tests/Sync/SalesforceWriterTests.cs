using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The writer's decisions with Salesforce and the ledger substituted.</summary>
public sealed class SalesforceWriterTests
{
    private const string ContactId = "003000000000001AAA";
    private readonly ISalesforceClient _salesforce = Substitute.For<ISalesforceClient>();
    private readonly IRecordRedirectResolver _redirects = Substitute.For<IRecordRedirectResolver>();
    private readonly IOptOutFieldResolver _fields = Substitute.For<IOptOutFieldResolver>();
    private readonly ILedgerStore _ledger = Substitute.For<ILedgerStore>();
    private readonly ILedgerSyncStore _ledgerSync = Substitute.For<ILedgerSyncStore>();
    private readonly IAuditLog _audit = Substitute.For<IAuditLog>();
    private readonly ISalesforceApiUsage _usage = Substitute.For<ISalesforceApiUsage>();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 4, 0, 0, TimeSpan.Zero));

    public SalesforceWriterTests()
    {
        var usable = new OptOutFieldStatus(SalesforceObjectType.Contact, "HasOptedOutOfEmail", true, true, true, null);
        _fields.ResolveAsync(Arg.Any<CancellationToken>()).Returns(new OptOutFieldResolution(
            OptOutTargetField.EmailOptOut, "HasOptedOutOfEmail", usable, usable with { ObjectType = SalesforceObjectType.Lead }));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SalesforceWriter CreateWriter(int budgetPercent = 75) => new(
        _salesforce, _redirects, _fields, _ledger, _ledgerSync, _audit,
        new ApiBudget(_usage, Options.Create(new SyncOptions { ApiBudgetPercent = budgetPercent }), _time),
        _time, NullLogger<SalesforceWriter>.Instance);

    private static RecordLinkEntity Link() => new()
    {
        PartitionKey = "key",
        RowKey = RecordLinkEntity.RowKeyFor(ContactId),
        SalesforceId = ContactId,
        ObjectType = "Contact",
        DesiredOptOut = true,
        Status = nameof(LinkStatus.Pending),
    };

    private static SyncBatchContext Context() => new(new SyncRunEntity { PartitionKey = "run-1" });

    private static async IAsyncEnumerable<JsonElement> Rows(string json, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        foreach (var row in JsonDocument.Parse(json).RootElement.EnumerateArray())
        {
            yield return row;
        }
    }

    [Fact]
    public async Task WriteAsync_RecordAlreadyHoldsValue_ConfirmsWithoutWriting()
    {
        // Arrange
        _salesforce.QueryAsync<JsonElement>(Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(Rows($$"""[{"Id":"{{ContactId}}","HasOptedOutOfEmail":true}]""", Ct));
        var link = Link();
        var context = Context();

        // Act
        await CreateWriter().WriteAsync([link], readFirst: true, context, Ct);

        // Assert
        await _salesforce.DidNotReceive().UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>());
        await _ledger.Received(1).UpdateLinkAsync(Arg.Is<RecordLinkEntity>(l => l.Status == nameof(LinkStatus.Synced)), Arg.Any<CancellationToken>());
        Assert.Equal((1, 0, 1), (context.Counters.AlreadyCorrect, context.Counters.Written, context.Counters.ApiCalls));
    }

    [Fact]
    public async Task WriteAsync_PermanentRecordFailure_KeepsCodeAndMessageOnLinkAndAudits()
    {
        // Arrange
        _salesforce.UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>())
            .Returns([new RecordResult(SalesforceId.Parse(ContactId), false, [new SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Opt-out needs a reason", [])], SalesforceErrorKind.Permanent)]);
        var link = Link();
        var context = Context();

        // Act
        await CreateWriter().WriteAsync([link], readFirst: false, context, Ct);

        // Assert
        Assert.Equal((nameof(LinkStatus.Failed), "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Opt-out needs a reason"), (link.Status, link.LastErrorCode, link.LastErrorMessage));
        Assert.Equal(1, context.Counters.FailedByCode["FIELD_CUSTOM_VALIDATION_EXCEPTION"]);
        await _audit.Received(1).AppendAsync(Arg.Is<AuditEntity>(a => a.Outcome == "failed" && a.SalesforceId == ContactId), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task WriteAsync_UsageAboveBudget_DefersWithoutCallingSalesforce()
    {
        // Arrange
        _usage.Latest.Returns(new ApiUsageSnapshot(80, 100, _time.GetUtcNow()));
        var link = Link();
        var context = Context();

        // Act
        await CreateWriter(budgetPercent: 75).WriteAsync([link], readFirst: true, context, Ct);

        // Assert
        Assert.Equal(nameof(LinkStatus.Deferred), link.Status);
        Assert.True(context.BudgetStopped);
        Assert.Equal(1, context.Counters.Deferred);
        _salesforce.ReceivedCalls().ToList().ForEach(call => Assert.Fail($"Salesforce was called: {call.GetMethodInfo().Name}"));
    }

    [Fact]
    public async Task WriteAsync_StaleUsageReading_DoesNotStopTheRun()
    {
        // Arrange
        _usage.Latest.Returns(new ApiUsageSnapshot(99, 100, _time.GetUtcNow().AddHours(-3)));
        _salesforce.UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>())
            .Returns([new RecordResult(SalesforceId.Parse(ContactId), true, [], null)]);
        var context = Context();

        // Act
        await CreateWriter().WriteAsync([Link()], readFirst: false, context, Ct);

        // Assert
        Assert.False(context.BudgetStopped);
        Assert.Equal(1, context.Counters.Written);
    }
}
