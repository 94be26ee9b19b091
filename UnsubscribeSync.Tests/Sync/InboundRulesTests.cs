using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The inbound merge rule, case by case.</summary>
public sealed class InboundRulesTests
{
    private static readonly DateTimeOffset Decided = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static ConsentStateEntity State(ConsentState state) =>
        new() { PartitionKey = "k", State = state.ToString(), DecidedAt = Decided, StateEventId = "evt" };

    private static RecordLinkEntity Link(LinkStatus status, bool desired = true) =>
        Links.InStatus("k", SalesforceId.Parse("003000000000001AAA"), status, desired, "evt", Decided);

    private static SyncOptions Options(SalesforceUncheckPolicy policy = SalesforceUncheckPolicy.Reassert, bool resolveByEmail = false) =>
        new() { SalesforceUncheck = policy, ResolveByEmail = resolveByEmail };

    [Fact]
    public void Decide_OptedOutAndUnknownAddress_ImportsOptOut()
    {
        // Act
        var decision = InboundRules.Decide(null, null, true, Decided, Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.ImportOptOut, false), decision);
    }

    [Fact]
    public void Decide_OptedOutAtSameInstantAsResubscribe_OptOutWinsTie()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Subscribed), Link(LinkStatus.Synced, desired: false), true, Decided, Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(InboundAction.ImportOptOut, decision.Action);
    }

    [Fact]
    public void Decide_OptedOutBeforeNewerResubscribe_ResubscribeStands()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Subscribed), null, true, Decided.AddMinutes(-1), Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(InboundAction.KeepResubscribe, decision.Action);
    }

    [Fact]
    public void Decide_UncheckedOnLinkConfirmedOnAnotherFieldUnderResubscribe_WritesOptOutWithoutDrift()
    {
        // Act: the link was confirmed on Email Opt Out; the field now read is the custom one.
        var decision = InboundRules.Decide(
            State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), false, Decided.AddDays(1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: false, field: "Custom__c");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, false), decision);
    }

    [Fact]
    public void Decide_UncheckedOnLinkConfirmedBeforeFieldsWereRecordedUnderResubscribe_WritesOptOutWithoutDrift()
    {
        // Arrange: a row from before SyncedField existed.
        var link = Link(LinkStatus.Synced);
        link.SyncedField = null;

        // Act
        var decision = InboundRules.Decide(
            State(ConsentState.Unsubscribed), link, false, Decided.AddDays(1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, false), decision);
    }

    [Fact]
    public void Decide_OptedOutOnLinkConfirmedOnAnotherField_ConfirmsOnThisField()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), true, Decided.AddDays(1), Options(), optOutHeldElsewhere: false, field: "Custom__c");

        // Assert
        Assert.Equal((InboundAction.Confirm, false), decision);
    }

    [Fact]
    public void Decide_OptedOutAndConfirmedAlready_DoesNothing()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), true, Decided.AddDays(1), Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(InboundAction.None, decision.Action);
    }

    [Fact]
    public void Decide_OptedOutAndLinkPending_ConfirmsWithoutWrite()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Failed), true, Decided, Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(InboundAction.Confirm, decision.Action);
    }

    [Fact]
    public void Decide_UncheckedUnderReassert_WritesAndReportsDrift()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), false, Decided.AddDays(1), Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, true), decision);
    }

    [Fact]
    public void Decide_NewerUncheckUnderResubscribe_ImportsResubscribe()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), false, Decided.AddDays(1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.ImportResubscribe, false), decision);
    }

    [Fact]
    public void Decide_OlderUncheckUnderResubscribe_Reasserts()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), false, Decided.AddDays(-1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, true), decision);
    }

    [Fact]
    public void Decide_RecordNeverConfirmedUnderResubscribe_WritesWithoutDrift()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Pending), false, Decided.AddDays(1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, false), decision);
    }

    [Theory]
    [InlineData(false, InboundAction.None)]
    [InlineData(true, InboundAction.WriteOptOut)]
    public void Decide_UnlinkedDuplicateOfUnsubscribedAddress_FansOutOnlyWithResolveByEmail(bool resolveByEmail, InboundAction expected)
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), null, false, Decided, Options(resolveByEmail: resolveByEmail), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(expected, decision.Action);
    }

    [Fact]
    public void Decide_NotOptedOutAndUnknownAddress_DoesNothing()
    {
        // Act
        var decision = InboundRules.Decide(null, null, false, Decided, Options(), optOutHeldElsewhere: false, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(InboundAction.None, decision.Action);
    }

    [Fact]
    public void BuildQuery_IncrementalLeadPage_FiltersByModstampIdAndConversion()
    {
        // Act
        var soql = InboundSync.BuildQuery(SalesforceObjectType.Lead, "HasOptedOutOfEmail", Decided, "00Q000000000001AAA", 2000);

        // Assert
        Assert.Equal(
            "SELECT Id, Email, HasOptedOutOfEmail, SystemModstamp FROM Lead WHERE SystemModstamp > 2026-11-01T12:00:00Z AND Id > '00Q000000000001AAA' AND IsConverted = false ORDER BY Id LIMIT 2000",
            soql);
    }

    [Fact]
    public void ChunkForUrl_ManyLongAddresses_StaysUnderUrlLimit()
    {
        // Arrange
        var addresses = Enumerable.Range(0, 400).Select(i => $"{new string('o', 60)}'{i}@{new string('d', 60)}.example.com").ToList();

        // Act
        var chunks = OutboundSync.ChunkForUrl(addresses).ToList();

        // Assert
        Assert.Equal(addresses, chunks.SelectMany(c => c));
        Assert.All(chunks, c => Assert.True(Uri.EscapeDataString(Soql.InList(c)).Length <= OutboundSync.MaxEncodedInListBytes + 3));
        Assert.True(chunks.Count > 2);
    }
    [Fact]
    public void Decide_NewerUncheckUnderResubscribeWhileAnotherRecordHoldsTheOptOut_Reasserts()
    {
        // Act
        var decision = InboundRules.Decide(State(ConsentState.Unsubscribed), Link(LinkStatus.Synced), false, Decided.AddDays(1), Options(SalesforceUncheckPolicy.Resubscribe), optOutHeldElsewhere: true, field: "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((InboundAction.WriteOptOut, true), decision);
    }

    [Theory]
    [InlineData(LinkStatus.Synced, true, false, true)]
    [InlineData(LinkStatus.Synced, true, true, false)]
    [InlineData(LinkStatus.Synced, false, false, false)]
    [InlineData(LinkStatus.Dead, true, false, false)]
    [InlineData(LinkStatus.Pending, true, false, false)]
    [InlineData(LinkStatus.Failed, true, false, false)]
    public void OptOutHeldElsewhere_OtherLinkInStatus_CountsOnlyAConfirmedOptOutNotUncheckedNow(LinkStatus status, bool desired, bool uncheckedNow, bool expected)
    {
        // Arrange
        var other = Links.InStatus("k", SalesforceId.Parse("003000000000002AAA"), status, desired, "evt", Decided);
        var self = Link(LinkStatus.Synced);
        var uncheckedHere = uncheckedNow ? new HashSet<string> { self.SalesforceId, other.SalesforceId } : new HashSet<string> { self.SalesforceId };

        // Act
        var held = InboundRules.OptOutHeldElsewhere([self, other], self.SalesforceId, uncheckedHere);

        // Assert
        Assert.Equal(expected, held);
    }

    [Fact]
    public void OptOutHeldElsewhere_OnlyTheRecordItself_IsFalse()
    {
        // Act
        var self = Link(LinkStatus.Synced);

        // Assert
        Assert.False(InboundRules.OptOutHeldElsewhere([self], self.SalesforceId, new HashSet<string>()));
    }
}
