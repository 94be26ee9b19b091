using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The sync's budget: where the usage comes from when no response reported it, and which links an overdrawn share still lets through.</summary>
public sealed class ApiBudgetTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 4, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly ISalesforceClient _salesforce = Substitute.For<ISalesforceClient>();
    private readonly SalesforceApiUsage _usage;

    public ApiBudgetTests()
    {
        _usage = new SalesforceApiUsage(_time);
        _salesforce.GetLimitsAsync(Arg.Any<CancellationToken>())
            .Returns(new SalesforceLimits(new Dictionary<string, SalesforceLimit> { ["DailyApiRequests"] = new(Max: 1000, Remaining: 100) }));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ApiBudget Budget(TimeSpan? maxDeferral = null) => new(
        _usage, _salesforce, Options.Create(new SyncOptions { ApiBudgetPercent = 75, MaxDeferral = maxDeferral ?? TimeSpan.FromHours(24) }), _time, NullLogger<ApiBudget>.Instance);

    private static SyncBatchContext Context(ApiBudget budget) => new(new SyncRunEntity { PartitionKey = "run-1", StartedAt = Start }, budget);

    private RecordLinkEntity OptOut(TimeSpan age) =>
        RecordLinkEntity.Create("key", SalesforceId.Parse("003000000000001"), desiredOptOut: true, "event", "evt-1", _time.GetUtcNow() - age);

    [Fact]
    public async Task RefreshUsageAsync_NoAnswerYet_CallsNothingAndLetsTheFirstCallBringTheReading()
    {
        // Arrange
        var context = Context(Budget());

        // Act
        await context.RefreshUsageAsync(Ct);

        // Assert: reading /limits would cost the call the first query or write spends anyway.
        await _salesforce.DidNotReceive().GetLimitsAsync(Arg.Any<CancellationToken>());
        Assert.True(context.CanCallSalesforce());
    }

    [Fact]
    public async Task RefreshUsageAsync_AnswersCameWithoutTheHeader_ReadsLimitsOnceAndStopsAboveShare()
    {
        // Arrange
        _usage.RecordUnreported();
        var budget = Budget();
        var context = Context(budget);

        // Act
        await context.RefreshUsageAsync(Ct);
        await context.RefreshUsageAsync(Ct);
        await Context(budget).RefreshUsageAsync(Ct);

        // Assert
        await _salesforce.Received(1).GetLimitsAsync(Arg.Any<CancellationToken>());
        Assert.Equal((900L, 1000L), (_usage.Latest!.Used, _usage.Latest.Limit));
        Assert.False(context.CanCallSalesforce());
    }

    [Fact]
    public async Task RefreshUsageAsync_ReadingStaleAndLaterAnswerUnreported_ReadsLimitsAgain()
    {
        // Arrange
        _usage.Record(10, 1000);
        _time.Advance(TimeSpan.FromHours(2));
        _usage.RecordUnreported();

        // Act
        await Context(Budget()).RefreshUsageAsync(Ct);

        // Assert
        await _salesforce.Received(1).GetLimitsAsync(Arg.Any<CancellationToken>());
        Assert.Equal(900L, _usage.Latest!.Used);
    }

    [Fact]
    public async Task RefreshUsageAsync_UnreportedAnswerOlderThanAnHour_CallsNothing()
    {
        // Arrange
        _usage.RecordUnreported();
        _time.Advance(TimeSpan.FromHours(2));

        // Act
        await Context(Budget()).RefreshUsageAsync(Ct);

        // Assert
        await _salesforce.DidNotReceive().GetLimitsAsync(Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task ResolveFieldsAsync_DescribeFindsDailyLimitReached_StopsTheRunAndReturnsNull()
    {
        // Arrange
        var fields = Substitute.For<IOptOutFieldResolver>();
        fields.ResolveAsync(Arg.Any<CancellationToken>())
            .Returns(Task.FromException<OptOutFieldResolution>(new SalesforceApiException("TotalRequests Limit exceeded.", SalesforceErrorKind.LimitExceeded, System.Net.HttpStatusCode.Forbidden)));
        var context = Context(Budget(TimeSpan.FromHours(24)));

        // Act
        var resolution = await context.ResolveFieldsAsync(fields, Ct);

        // Assert: stopped for the limit, so even an overdue opt-out waits.
        Assert.Null(resolution);
        Assert.False(context.CanCallSalesforce(OptOut(TimeSpan.FromHours(25))));
    }

    [Fact]
    public async Task RefreshUsageAsync_FreshReading_CallsNothing()
    {
        // Arrange
        _usage.Record(10, 1000);

        // Act
        await Context(Budget()).RefreshUsageAsync(Ct);

        // Assert
        await _salesforce.DidNotReceive().GetLimitsAsync(Arg.Any<CancellationToken>());
    }

    [Fact]
    public void CanCallSalesforce_ShareSpentAndOptOutOwedLongerThanMaxDeferral_LetsOnlyThatLinkThrough()
    {
        // Arrange
        _usage.Record(900, 1000);
        var context = Context(Budget(TimeSpan.FromHours(24)));

        // Act
        var overdue = context.CanCallSalesforce(OptOut(TimeSpan.FromHours(25)));
        var recent = context.CanCallSalesforce(OptOut(TimeSpan.FromHours(1)));

        // Assert
        Assert.Equal((true, false, false), (overdue, recent, context.CanCallSalesforce()));
    }

    [Fact]
    public void CanCallSalesforce_DailyLimitReached_StopsOverdueOptOutsToo()
    {
        // Arrange
        var context = Context(Budget(TimeSpan.FromHours(24)));

        // Act
        context.StopForDailyLimit();

        // Assert
        Assert.False(context.CanCallSalesforce(OptOut(TimeSpan.FromHours(25))));
    }
}
