using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceIdTests
{
    [Theory]
    [InlineData("001D000000IRFma", "IAH")]
    [InlineData("003RO0000035WQg", "YAM")]
    [InlineData("003xx000004TmiQ", "AAS")]
    [InlineData("00558000001N0Ke", "AAK")]
    public void ComputeSuffix_WorkedExamples_MatchReference(string fifteen, string expected)
    {
        // Arrange
        // Act
        var suffix = SalesforceId.ComputeSuffix(fifteen);

        // Assert
        Assert.Equal(expected, suffix);
    }

    [Fact]
    public void Parse_AccountId_IsPersonAccountOnAccount()
    {
        // Arrange
        const string account = "001D000000IRFma";

        // Act
        var id = SalesforceId.Parse(account);

        // Assert
        Assert.Equal("001D000000IRFmaIAH", id.Value);
        Assert.Equal(SalesforceObjectType.PersonAccount, id.ObjectType);
        Assert.Equal("Account", id.SObjectName);
    }

    [Fact]
    public void TryParse_OtherObjectId_RejectsByPrefixNamingTheThreeAccepted()
    {
        // Arrange: an Opportunity.
        const string opportunity = "006D000000IRFma";

        // Act
        var parsed = SalesforceId.TryParse(opportunity, out _, out var error);

        // Assert
        Assert.False(parsed);
        Assert.Equal("must be a Contact (003), Lead (00Q) or Person Account (001) Id", error);
    }

    [Theory]
    [InlineData(SalesforceObjectType.Contact, "Contact", "Email", null)]
    [InlineData(SalesforceObjectType.Lead, "Lead", "Email", "IsConverted = false")]
    [InlineData(SalesforceObjectType.PersonAccount, "Account", "PersonEmail", "IsPersonAccount = true")]
    public void ObjectType_EachType_NamesItsSObjectEmailFieldAndCondition(SalesforceObjectType type, string sObject, string email, string? condition)
    {
        // Act
        // Assert
        Assert.Equal(sObject, type.SObjectName());
        Assert.Equal(email, type.EmailField());
        Assert.Equal(condition, type.QueryCondition());
    }

    [Theory]
    [InlineData("HasOptedOutOfEmail", "PersonHasOptedOutOfEmail")]
    [InlineData("MSC__Marketo_Sales_Opt_Out__c", "MSC__Marketo_Sales_Opt_Out__pc")]
    [InlineData("Sales_Opt_Out__c", "Sales_Opt_Out__pc")]
    public void PersonAccountField_ContactField_IsItsPersonAccountForm(string contactField, string expected)
    {
        // Act
        // Assert
        Assert.Equal(expected, SalesforceObjectTypes.PersonAccountField(contactField));
    }

    [Theory]
    [InlineData("003RO0000035WQg", "003RO0000035WQgYAM", SalesforceObjectType.Contact)]
    [InlineData("003xx000004TmiQ", "003xx000004TmiQAAS", SalesforceObjectType.Contact)]
    [InlineData("003RO0000035WQgYAM", "003RO0000035WQgYAM", SalesforceObjectType.Contact)]
    public void Parse_ValidContactId_ReturnsEighteenCharacterForm(string input, string expected, SalesforceObjectType type)
    {
        // Arrange
        // Act
        var id = SalesforceId.Parse(input);

        // Assert
        Assert.Equal(expected, id.Value);
        Assert.Equal(type, id.ObjectType);
        Assert.Equal("Contact", id.SObjectName);
    }

    [Fact]
    public void Parse_LeadId_IsLead()
    {
        // Arrange
        var fifteen = "00Q5e00000AbCdE";
        var eighteen = fifteen + SalesforceId.ComputeSuffix(fifteen);

        // Act
        var id = SalesforceId.Parse(eighteen);

        // Assert
        Assert.Equal(SalesforceObjectType.Lead, id.ObjectType);
        Assert.Equal("Lead", id.SObjectName);
    }

    [Fact]
    public void TryParse_EighteenCharactersWithWrongChecksum_Rejects()
    {
        // Arrange
        const string wrong = "003RO0000035WQgAAA";

        // Act
        var parsed = SalesforceId.TryParse(wrong, out _, out var error);

        // Assert
        Assert.False(parsed);
        Assert.Contains("checksum", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LowerCasedEighteenCharacterId_NormalizesCase()
    {
        // Arrange
        const string lowered = "003ro0000035wqgyam";

        // Act
        var id = SalesforceId.Parse(lowered);

        // Assert
        Assert.Equal("003RO0000035WQgYAM", id.Value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("003RO0000035WQ")]
    [InlineData("003RO0000035WQg-AM")]
    [InlineData("003RO0000035WQgYAMX")]
    public void TryParse_Malformed_ReturnsError(string? input)
    {
        // Arrange
        // Act
        var parsed = SalesforceId.TryParse(input, out _, out var error);

        // Assert
        Assert.False(parsed);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Parse_Malformed_ThrowsFormatException()
    {
        // Arrange
        // Act
        var ex = Assert.Throws<FormatException>(() => SalesforceId.Parse("not-an-id"));

        // Assert
        Assert.Contains("15- or 18-character", ex.Message, StringComparison.Ordinal);
    }
}
