using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceMessageScrubberTests
{
    public static TheoryData<string, string> Messages => new()
    {
        // MALFORMED_QUERY echoes the query around the error position, IN list included.
        {
            "\nSELECT Id, Email, HasOptedOutOfEmail FROM Contact WHERE Email IN ('alice@example.com','bob.o\\'neil@example.org')\n                                                         ^\nERROR at Row:1:Column:58\nunexpected token: IN",
            "\nSELECT Id, Email, HasOptedOutOfEmail FROM Contact WHERE Email IN ([list removed])\n                                                         ^\nERROR at Row:1:Column:58\nunexpected token: IN"
        },
        // INVALID_FIELD quotes the query up to the bad column; a long one is cut off before the list closes.
        {
            "Email, Bogus__c FROM Lead WHERE Email IN ('carol@example.com', 'dave@example.com\n^\nERROR at Row:1:Column:15\nNo such column 'Bogus__c' on entity 'Lead'.",
            "Email, Bogus__c FROM Lead WHERE Email IN ([list removed]\n^\nERROR at Row:1:Column:15\nNo such column 'Bogus__c' on entity 'Lead'."
        },
        { "Duplicate value found: Email duplicates value on record with id: 003000000000001 (erin+news@sub.example.co.uk)", "Duplicate value found: Email duplicates value on record with id: 003000000000001 ([email])" },
        { "in lower case: email in ('frank@example.com')", "in lower case: email in ([list removed])" },
        { "URL-encoded: WHERE+Email+IN+%28%27grace%40example.com%27%29", "URL-encoded: WHERE+Email+IN+%28%27[email]%27%29" },
        { "No such column 'Bogus__c' on sobject of type Contact", "No such column 'Bogus__c' on sobject of type Contact" },
        { "unable to obtain exclusive access to this record or 1 records: 0035cFAKESFIDAAI", "unable to obtain exclusive access to this record or 1 records: 0035cFAKESFIDAAI" },
        { "", "" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Scrub_MessageShapes_MasksAddressesAndDropsInLists(string message, string expected)
    {
        Assert.Equal(expected, SalesforceMessageScrubber.Scrub(message));
    }

    [Fact]
    public void Parse_ErrorBodyWithSoql_StoresScrubbedMessage()
    {
        const string body = """[{"message":"WHERE Email IN ('alice@example.com')\n^\nERROR at Row:1:Column:40\nunexpected token","errorCode":"MALFORMED_QUERY"}]""";

        var error = Assert.Single(SalesforceErrors.Parse(400, body));

        Assert.DoesNotContain("@", error.Message, StringComparison.Ordinal);
        Assert.Contains("IN ([list removed])", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_MessageWithAddress_IsScrubbed()
    {
        var ex = new SalesforceApiException("Salesforce query failed for zoe@example.com", SalesforceErrorKind.Permanent);

        Assert.Equal("Salesforce query failed for [email]", ex.Message);
    }
}
