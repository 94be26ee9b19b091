using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Ledger;

/// <summary>Each transition of a link, and every field it owns.</summary>
public sealed class RecordLinkEntityTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Created.AddHours(1);
    private static readonly SalesforceId Contact = SalesforceId.Parse("003000000000001");

    /// <summary>A link that has seen a failed attempt, so every transition has fields to set or clear.</summary>
    private static RecordLinkEntity Tried()
    {
        var link = RecordLinkEntity.Create("key", Contact, desiredOptOut: true, "event", "evt-1", Created);
        link.RecordTransientFailure("SERVER_UNAVAILABLE", "busy", Created);
        return link;
    }

    private static (LinkStatus, bool, string?, int, string?, string?, DateTimeOffset?, string?, DateTimeOffset) Fields(RecordLinkEntity l) =>
        (l.Status, l.DesiredOptOut, l.RequestedByEventId, l.Attempts, l.LastErrorCode, l.LastErrorMessage, l.SyncedAt, l.SyncedEventId, l.UpdatedAt);

    [Fact]
    public void Create_NewLink_OwesTheValueAndNamesTheRecord()
    {
        // Act
        var link = RecordLinkEntity.Create("key", Contact, desiredOptOut: true, "lookup", "evt-1", Created);

        // Assert
        Assert.Equal(("key", "link|" + Contact.Value, Contact.Value, "Contact", "lookup", Created), (link.PartitionKey, link.RowKey, link.SalesforceId, link.ObjectType, link.LinkedFrom, link.LinkedAt));
        Assert.Equal((LinkStatus.Pending, true, "evt-1", 0, null, null, null, null, Created), Fields(link));
        Assert.True(link.IsOwed);
    }

    [Fact]
    public void RecordTransientFailure_PendingLink_CountsAttemptKeepsStatus()
    {
        // Act
        var link = Tried();

        // Assert
        Assert.Equal((LinkStatus.Pending, true, "evt-1", 1, "SERVER_UNAVAILABLE", "busy", null, null, Created), Fields(link));
    }

    [Fact]
    public void MarkSynced_AfterWrite_ConfirmsRequestedEventAndClearsErrors()
    {
        // Arrange
        var link = Tried();

        // Act
        link.MarkSynced(Now, attempted: true, "HasOptedOutOfEmail");

        // Assert
        Assert.Equal((LinkStatus.Synced, true, "evt-1", 2, null, null, Now, "evt-1", Now), Fields(link));
        Assert.False(link.IsOwed);
    }

    [Fact]
    public void MarkSynced_SeenInSalesforce_DoesNotCountAnAttempt()
    {
        // Arrange
        var link = Tried();

        // Act
        link.MarkSynced(Now, attempted: false, "HasOptedOutOfEmail");

        // Assert
        Assert.Equal(1, link.Attempts);
        Assert.Equal(LinkStatus.Synced, link.Status);
    }

    [Fact]
    public void Request_NewValue_OwesItAndStartsAFreshAttemptCount()
    {
        // Arrange
        var link = Tried();
        link.MarkSynced(Created, attempted: true, "HasOptedOutOfEmail");

        // Act
        link.Request(false, "evt-2", Now);

        // Assert: the last confirmation stays as history; the errors and attempts belong to the old value.
        Assert.Equal((LinkStatus.Pending, false, "evt-2", 0, null, null, Created, "evt-1", Now), Fields(link));
    }

    [Fact]
    public void Request_SameValue_KeepsAttemptHistory()
    {
        // Arrange
        var link = Tried();

        // Act
        link.Request(true, "evt-2", Now);

        // Assert
        Assert.Equal((LinkStatus.Pending, true, "evt-2", 1, "SERVER_UNAVAILABLE", "busy", null, null, Now), Fields(link));
    }

    [Fact]
    public void Reopen_ConfirmedLink_OwesTheValueAgainWithTheReason()
    {
        // Arrange
        var link = Tried();
        link.MarkSynced(Created, attempted: true, "HasOptedOutOfEmail");

        // Act
        link.Reopen("DRIFT", "un-checked in Salesforce", Now);

        // Assert
        Assert.Equal((LinkStatus.Pending, true, "evt-1", 2, "DRIFT", "un-checked in Salesforce", Created, "evt-1", Now), Fields(link));
    }

    public static TheoryData<string, LinkStatus, int> Settlements() => new()
    {
        { nameof(RecordLinkEntity.MarkFailed), LinkStatus.Failed, 2 },
        { nameof(RecordLinkEntity.MarkBlocked), LinkStatus.Blocked, 2 },
        { nameof(RecordLinkEntity.MarkDeferred), LinkStatus.Deferred, 2 },
        { nameof(RecordLinkEntity.MarkDead), LinkStatus.Dead, 1 },
        { nameof(RecordLinkEntity.MarkNotRequired), LinkStatus.NotRequired, 1 },
    };

    [Theory]
    [MemberData(nameof(Settlements))]
    public void Settle_EachTransition_SetsStatusReasonAndAttemptsItOwns(string transition, LinkStatus expected, int attempts)
    {
        // Arrange
        var link = Tried();

        // Act
        switch (transition)
        {
            case nameof(RecordLinkEntity.MarkFailed): link.MarkFailed("CODE", "why", attempted: true, Now); break;
            case nameof(RecordLinkEntity.MarkBlocked): link.MarkBlocked("CODE", "why", attempted: true, Now); break;
            case nameof(RecordLinkEntity.MarkDeferred): link.MarkDeferred("CODE", "why", attempted: true, Now); break;
            case nameof(RecordLinkEntity.MarkDead): link.MarkDead("CODE", "why", Now); break;
            default: link.MarkNotRequired("why", Now); break;
        }

        // Assert
        var code = transition == nameof(RecordLinkEntity.MarkNotRequired) ? null : "CODE";
        Assert.Equal((expected, true, "evt-1", attempts, code, "why", null, null, Now), Fields(link));
        Assert.Equal(expected is LinkStatus.Failed or LinkStatus.Blocked or LinkStatus.Deferred, link.IsOwed);
    }

    [Fact]
    public void Revive_DeletedLink_OwesTheValueWithANewCount()
    {
        // Arrange
        var link = Tried();
        link.MarkDead("ENTITY_IS_DELETED", "deleted", Created);

        // Act
        link.Revive(desiredOptOut: true, "evt-2", "back", Now);

        // Assert
        Assert.Equal((LinkStatus.Pending, true, "evt-2", 0, "REVIVED", "back", null, null, Now), Fields(link));
        Assert.Null(link.RedirectedTo);
        Assert.True(link.IsOwed);
    }

    [Fact]
    public void MarkRedirected_MergedRecord_IsDeadAndCannotBeRevived()
    {
        // Arrange
        var link = Tried();

        // Act
        link.MarkRedirected("ENTITY_IS_DELETED", "003000000000002AAA", "merged", Now);

        // Assert
        Assert.Equal((LinkStatus.Dead, "003000000000002AAA", false), (link.Status, link.RedirectedTo, link.CanRevive));
        Assert.Throws<InvalidOperationException>(() => link.Revive(desiredOptOut: true, "evt-2", "back", Now));
    }

    [Fact]
    public void CanRevive_ConvertedLeadRowWithoutRedirectedTo_IsFalse()
    {
        // Arrange: a row written before RedirectedTo existed.
        var link = Tried();
        link.MarkDead("CANNOT_UPDATE_CONVERTED_LEAD", "converted", Now);

        // Act
        var canRevive = link.CanRevive;

        // Assert
        Assert.False(canRevive);
    }
}
