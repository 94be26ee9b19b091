using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Delivery;

/// <summary>The writer's decisions with Salesforce, the ledger and the recorder substituted: which outcome it hands the recorder, and which calls it makes.</summary>
public sealed class SalesforceWriterTests
{
    private static readonly string ContactId = SalesforceId.Parse("003000000000001").Value;
    private static readonly string OtherContactId = SalesforceId.Parse("003000000000002").Value;
    private static readonly string LeadId = SalesforceId.Parse("00Q000000000001").Value;
    private readonly ISalesforceClient _salesforce = Substitute.For<ISalesforceClient>();
    private readonly IRecordRedirectResolver _redirects = Substitute.For<IRecordRedirectResolver>();
    private readonly IOptOutFieldResolver _fields = Substitute.For<IOptOutFieldResolver>();
    private readonly ILedgerStore _ledger = Substitute.For<ILedgerStore>();
    private readonly ILinkOutcomeRecorder _recorder = Substitute.For<ILinkOutcomeRecorder>();
    private readonly IWriteBudget _budget = Substitute.For<IWriteBudget>();
    private readonly List<(string Id, LinkOutcome Outcome)> _recorded = [];

    public SalesforceWriterTests()
    {
        var usable = new OptOutFieldStatus(SalesforceObjectType.Contact, "HasOptedOutOfEmail", true, true, true, null);
        _fields.ResolveAsync(Arg.Any<CancellationToken>()).Returns(new OptOutFieldResolution(
            OptOutTargetField.EmailOptOut, "HasOptedOutOfEmail", usable, usable with { ObjectType = SalesforceObjectType.Lead }));
        _budget.CanCallSalesforce().Returns(true);
        _budget.CanCallSalesforce(Arg.Any<RecordLinkEntity>()).Returns(true);
        _recorder.RecordAsync(Arg.Any<RecordLinkEntity>(), Arg.Any<LinkOutcome>(), Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(call =>
            {
                var link = call.Arg<RecordLinkEntity>();
                _recorded.Add((link.SalesforceId, call.Arg<LinkOutcome>()));
                return new RecordedOutcome(link, RecordedAs.Applied);
            });
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SalesforceWriter CreateWriter(bool pushResubscribes = false) => new(
        _salesforce, _redirects, _fields, _ledger, _recorder,
        Options.Create(new SyncOptions { PushResubscribes = pushResubscribes }), NullLogger<SalesforceWriter>.Instance);

    private static RecordLinkEntity Link(string? id = null, bool desired = true) =>
        RecordLinkEntity.Create("key", SalesforceId.Parse(id ?? ContactId), desired, "event", "evt-1", DateTimeOffset.UnixEpoch);

    private static async IAsyncEnumerable<SObjectRow> Rows(params string[] json)
    {
        await Task.Yield();
        foreach (var row in json)
        {
            yield return SObjectRow.Parse(row);
        }
    }

    [Fact]
    public async Task WriteAsync_RecordAlreadyHoldsValue_RecordsObservedWithoutWriting()
    {
        // Arrange
        _salesforce.QueryAsync<SObjectRow>(Arg.Any<string>(), Arg.Any<CancellationToken>()).Returns(Rows($$"""{"Id":"{{ContactId}}","HasOptedOutOfEmail":true}"""));

        // Act
        await CreateWriter().WriteAsync([Link()], new WriteOptions("nightly-sync", ReadFirst: true), _budget, Ct);

        // Assert
        await _salesforce.DidNotReceive().UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>());
        await _salesforce.DidNotReceive().UpdateRecordAsync(Arg.Any<SalesforceId>(), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>());
        Assert.Equal([(ContactId, LinkOutcome.Observed(true, "HasOptedOutOfEmail"))], _recorded);
    }

    [Fact]
    public async Task WriteAsync_OneLink_WritesWithOnePatch()
    {
        // Act
        var results = await CreateWriter().WriteAsync([Link()], new WriteOptions("push"), _budget, Ct);

        // Assert
        await _salesforce.Received(1).UpdateRecordAsync(
            SalesforceId.Parse(ContactId), Arg.Is<IReadOnlyDictionary<string, object?>>(f => (bool)f["HasOptedOutOfEmail"]! == true), Arg.Any<CancellationToken>());
        await _salesforce.DidNotReceive().UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>());
        Assert.Equal(LinkOutcomeKind.Synced, Assert.Single(results).Outcome.Kind);
        await _recorder.Received(1).RecordAsync(Arg.Any<RecordLinkEntity>(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task WriteAsync_SeveralLinks_WritesOneCollectionsCall()
    {
        // Arrange
        _salesforce.UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>())
            .Returns([new RecordResult(SalesforceId.Parse(ContactId), true, [], null), new RecordResult(SalesforceId.Parse(OtherContactId), true, [], null)]);

        // Act
        await CreateWriter().WriteAsync([Link(), Link(OtherContactId)], new WriteOptions("nightly-sync"), _budget, Ct);

        // Assert
        await _salesforce.Received(1).UpdateRecordsAsync(Arg.Is<IReadOnlyList<SalesforceRecordUpdate>>(u => u.Count == 2), Arg.Any<CancellationToken>());
        Assert.All(_recorded, r => Assert.Equal(LinkOutcomeKind.Synced, r.Outcome.Kind));
    }

    [Fact]
    public async Task WriteAsync_PermanentRecordFailure_RecordsFailedWithSalesforcesCodeAndMessage()
    {
        // Arrange
        _salesforce.UpdateRecordAsync(Arg.Any<SalesforceId>(), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>())
            .ThrowsAsync(new SalesforceApiException("Opt-out needs a reason", SalesforceErrorKind.Permanent, System.Net.HttpStatusCode.BadRequest, [new SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Opt-out needs a reason", [])]));

        // Act
        await CreateWriter().WriteAsync([Link()], new WriteOptions("push"), _budget, Ct);

        // Assert
        var (_, outcome) = Assert.Single(_recorded);
        Assert.Equal((LinkOutcomeKind.Failed, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Opt-out needs a reason", true), (outcome.Kind, outcome.Code, outcome.Message, outcome.Attempted));
    }

    [Fact]
    public async Task WriteAsync_BudgetSpent_DefersWithoutCallingSalesforce()
    {
        // Arrange
        _budget.CanCallSalesforce().Returns(false);
        _budget.CanCallSalesforce(Arg.Any<RecordLinkEntity>()).Returns(false);

        // Act
        await CreateWriter().WriteAsync([Link(), Link(OtherContactId)], new WriteOptions("nightly-sync", ReadFirst: true), _budget, Ct);

        // Assert
        Assert.All(_recorded, r => Assert.Equal((LinkOutcomeKind.Deferred, SalesforceWriter.BudgetCode, false), (r.Outcome.Kind, r.Outcome.Code, r.Outcome.Attempted)));
        Assert.Equal(2, _recorded.Count);
        Assert.Empty(_salesforce.ReceivedCalls());
    }

    [Fact]
    public async Task WriteAsync_BudgetAdmitsOneLink_WritesItAndDefersTheOther()
    {
        // Arrange: the budget's share is spent, but it lets an overdue opt-out through.
        _budget.CanCallSalesforce().Returns(false);
        _budget.CanCallSalesforce(Arg.Is<RecordLinkEntity>(l => l.SalesforceId == ContactId)).Returns(true);
        _budget.CanCallSalesforce(Arg.Is<RecordLinkEntity>(l => l.SalesforceId == OtherContactId)).Returns(false);

        // Act
        await CreateWriter().WriteAsync([Link(), Link(OtherContactId)], new WriteOptions("nightly-sync"), _budget, Ct);

        // Assert
        await _budget.Received(1).RefreshUsageAsync(Arg.Any<CancellationToken>());
        await _salesforce.Received(1).UpdateRecordAsync(SalesforceId.Parse(ContactId), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>());
        Assert.Equal(
            [(ContactId, LinkOutcomeKind.Synced), (OtherContactId, LinkOutcomeKind.Deferred)],
            _recorded.Select(r => (r.Id, r.Outcome.Kind)).OrderBy(r => r.Id).ToList());
    }

    [Fact]
    public async Task WriteAsync_DailyLimitOnWrite_DefersAndStopsTheBudget()
    {
        // Arrange
        _salesforce.UpdateRecordAsync(Arg.Any<SalesforceId>(), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>())
            .ThrowsAsync(new SalesforceApiException("TotalRequests Limit exceeded.", SalesforceErrorKind.LimitExceeded, System.Net.HttpStatusCode.Forbidden, [new SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", [])]));

        // Act
        await CreateWriter().WriteAsync([Link()], new WriteOptions("push"), _budget, Ct);

        // Assert
        var (_, outcome) = Assert.Single(_recorded);
        Assert.Equal((LinkOutcomeKind.Deferred, "REQUEST_LIMIT_EXCEEDED", true), (outcome.Kind, outcome.Code, outcome.Attempted));
        _budget.Received(1).StopForDailyLimit();
    }

    [Fact]
    public async Task WriteAsync_WholeCallFailsTransiently_RecordsEachLinkThenThrows()
    {
        // Arrange
        _salesforce.UpdateRecordsAsync(Arg.Any<IReadOnlyList<SalesforceRecordUpdate>>(), Arg.Any<CancellationToken>())
            .ThrowsAsync(new HttpRequestException("connection reset"));

        // Act
        var thrown = await Assert.ThrowsAsync<HttpRequestException>(() =>
            CreateWriter().WriteAsync([Link(), Link(OtherContactId)], new WriteOptions("nightly-sync"), _budget, Ct));

        // Assert
        Assert.Equal("connection reset", thrown.Message);
        Assert.Equal(2, _recorded.Count);
        Assert.All(_recorded, r => Assert.Equal((LinkOutcomeKind.Transient, nameof(HttpRequestException)), (r.Outcome.Kind, r.Outcome.Code)));
    }

    [Fact]
    public async Task WriteAsync_ResubscribeWhileResubscribesAreNotPushed_RecordsNotRequiredWithoutCalling()
    {
        // Act
        await CreateWriter(pushResubscribes: false).WriteAsync([Link(desired: false)], new WriteOptions("push"), _budget, Ct);

        // Assert
        Assert.Equal(LinkOutcomeKind.NotRequired, Assert.Single(_recorded).Outcome.Kind);
        Assert.Empty(_salesforce.ReceivedCalls());
    }

    [Fact]
    public async Task WriteAsync_FieldNotUsable_RecordsBlockedWithoutWriting()
    {
        // Arrange
        var broken = new OptOutFieldStatus(SalesforceObjectType.Lead, null, false, false, false, "field Marketo Sales Opt Out not found on Lead");
        var usable = new OptOutFieldStatus(SalesforceObjectType.Contact, "HasOptedOutOfEmail", true, true, true, null);
        _fields.ResolveAsync(Arg.Any<CancellationToken>()).Returns(new OptOutFieldResolution(OptOutTargetField.MarketoSalesOptOut, "X__c", usable, broken));

        // Act
        await CreateWriter().WriteAsync([Link(LeadId)], new WriteOptions("push"), _budget, Ct);

        // Assert
        var (_, outcome) = Assert.Single(_recorded);
        Assert.Equal((LinkOutcomeKind.Blocked, SalesforceWriter.FieldUnusableCode, false), (outcome.Kind, outcome.Code, outcome.Attempted));
        Assert.Contains("not found on Lead", outcome.Message);
        await _salesforce.DidNotReceive().UpdateRecordAsync(Arg.Any<SalesforceId>(), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task WriteAsync_ConvertedLead_RecordsRedirectAndWritesTheContactTheLedgerLinked()
    {
        // Arrange
        _salesforce.UpdateRecordAsync(SalesforceId.Parse(LeadId), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>())
            .ThrowsAsync(new SalesforceApiException("cannot reference converted lead", SalesforceErrorKind.NeedsRedirect, System.Net.HttpStatusCode.BadRequest, [new SalesforceError(RecordRedirectResolver.ConvertedLead, "cannot reference converted lead", [])]));
        _redirects.ResolveAsync(Arg.Any<IReadOnlyList<(SalesforceId, string)>>(), Arg.Any<CancellationToken>())
            .Returns([new RecordRedirect(SalesforceId.Parse(LeadId), SalesforceId.Parse(ContactId), null)]);
        var contact = Link(ContactId);
        _ledger.LinkAsync("key", SalesforceId.Parse(ContactId), "redirect", null, Arg.Any<CancellationToken>()).Returns(new LinkResult(contact, true));

        // Act
        var results = await CreateWriter().WriteAsync([Link(LeadId)], new WriteOptions("push"), _budget, Ct);

        // Assert
        Assert.Equal([(LeadId, LinkOutcomeKind.Redirected), (ContactId, LinkOutcomeKind.Synced)], _recorded.Select(r => (r.Id, r.Outcome.Kind)));
        Assert.Equal(ContactId, _recorded[0].Outcome.TargetId);
        Assert.True(results.Single(r => r.Link.SalesforceId == ContactId).NewlyLinked);
        await _salesforce.Received(1).UpdateRecordAsync(SalesforceId.Parse(ContactId), Arg.Any<IReadOnlyDictionary<string, object?>>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task WriteAsync_LandedWriteOvertakenByNewerValue_WritesTheCurrentValueAgain()
    {
        // Arrange: the first record says our write of true landed after the link moved on to false.
        var moved = Link(desired: false);
        _recorder.RecordAsync(Arg.Any<RecordLinkEntity>(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(new RecordedOutcome(moved, RecordedAs.Superseded) { MustRewrite = true });

        // Act
        await CreateWriter(pushResubscribes: true).WriteAsync([Link(desired: true)], new WriteOptions("push"), _budget, Ct);

        // Assert
        Received.InOrder(() =>
        {
            _salesforce.UpdateRecordAsync(SalesforceId.Parse(ContactId), Arg.Is<IReadOnlyDictionary<string, object?>>(f => (bool)f["HasOptedOutOfEmail"]! == true), Arg.Any<CancellationToken>());
            _salesforce.UpdateRecordAsync(SalesforceId.Parse(ContactId), Arg.Is<IReadOnlyDictionary<string, object?>>(f => (bool)f["HasOptedOutOfEmail"]! == false), Arg.Any<CancellationToken>());
        });
    }
}
