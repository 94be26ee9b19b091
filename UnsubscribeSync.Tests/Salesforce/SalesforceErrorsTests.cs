using System.Net;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceErrorsTests
{
    private static string Body(string code, string message) =>
        $$"""[{"message":"{{message}}","errorCode":"{{code}}","fields":[]}]""";

    // The errorCode classification of docs/salesforce-client.md.
    public static TheoryData<int, string, SalesforceErrorKind> ErrorTable => new()
    {
        { 401, Body("INVALID_SESSION_ID", "Session expired or invalid"), SalesforceErrorKind.Authentication },
        { 403, Body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), SalesforceErrorKind.LimitExceeded },
        { 403, Body("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."), SalesforceErrorKind.Transient },
        { 403, Body("REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."), SalesforceErrorKind.Transient },
        { 403, Body("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."), SalesforceErrorKind.Permanent },
        { 403, Body("API_CURRENTLY_DISABLED", "API is disabled for this user"), SalesforceErrorKind.Permanent },
        { 404, Body("NOT_FOUND", "The requested resource does not exist"), SalesforceErrorKind.Permanent },
        { 404, Body("ENTITY_IS_DELETED", "entity is deleted"), SalesforceErrorKind.NeedsRedirect },
        { 400, Body("MALFORMED_ID", "Contact ID: id value of incorrect type: 001xx000003DGb2999"), SalesforceErrorKind.Permanent },
        { 400, Body("INVALID_FIELD", "No such column 'foo' on sobject of type Bar"), SalesforceErrorKind.Permanent },
        { 400, Body("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: X."), SalesforceErrorKind.Permanent },
        { 400, Body("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"), SalesforceErrorKind.Permanent },
        { 400, Body("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"), SalesforceErrorKind.NeedsRedirect },
        { 400, Body("FIELD_INTEGRITY_EXCEPTION", "bad state"), SalesforceErrorKind.Permanent },
        { 400, Body("FIELD_CUSTOM_VALIDATION_EXCEPTION", "org rule"), SalesforceErrorKind.Permanent },
        { 400, Body("REQUIRED_FIELD_MISSING", "Required fields are missing: [X]"), SalesforceErrorKind.Permanent },
        { 400, Body("DUPLICATES_DETECTED", "Use one of these records?"), SalesforceErrorKind.Permanent },
        { 400, Body("ENTITY_IS_LOCKED", "the entity is locked for editing"), SalesforceErrorKind.Permanent },
        { 400, Body("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: 0035cFAKESFIDAAI"), SalesforceErrorKind.Transient },
        { 500, Body("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: 0035cFAKESFIDAAI"), SalesforceErrorKind.Transient },
        { 400, Body("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "MyTrigger: execution of AfterUpdate caused by: System.DmlException: UNABLE_TO_LOCK_ROW"), SalesforceErrorKind.Transient },
        { 400, Body("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "MyTrigger: System.LimitException: Too many SOQL queries: 101"), SalesforceErrorKind.Transient },
        { 400, Body("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "MyTrigger: System.NullPointerException"), SalesforceErrorKind.Permanent },
        { 503, Body("SERVER_UNAVAILABLE", "server too busy"), SalesforceErrorKind.Transient },
        { 500, Body("SERVER_UNAVAILABLE", "server too busy"), SalesforceErrorKind.Transient },
        { 400, Body("INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE", "maintenance"), SalesforceErrorKind.Transient },
        { 400, Body("QUERY_TIMEOUT", "Your query request was running too long"), SalesforceErrorKind.Transient },
        { 500, Body("UNKNOWN_EXCEPTION", "Unknown Exception occurred"), SalesforceErrorKind.Transient },
        { 400, Body("JSON_PARSER_ERROR", "bad json"), SalesforceErrorKind.Permanent },
        { 400, Body("MALFORMED_QUERY", "unexpected token"), SalesforceErrorKind.Permanent },
        { 405, Body("METHOD_NOT_ALLOWED", "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET,POST"), SalesforceErrorKind.Permanent },
        { 502, "<html><head><title>502 Bad Gateway</title></head><body>Edge</body></html>", SalesforceErrorKind.Transient },
        { 503, "<html><head><title>Service Unavailable</title></head><body>Maintenance</body></html>", SalesforceErrorKind.Transient },
        { 500, "", SalesforceErrorKind.Transient },
        { 408, "", SalesforceErrorKind.Transient },
        { 410, "", SalesforceErrorKind.Permanent },
    };

    [Theory]
    [MemberData(nameof(ErrorTable))]
    public void Classify_ReferenceErrorTable_MatchesRetryPolicy(int status, string body, SalesforceErrorKind expected)
    {
        // Arrange
        var errors = SalesforceErrors.Parse(status, body);

        // Act
        var kind = SalesforceErrors.Classify(status, errors);

        // Assert
        Assert.Equal(expected, kind);
    }

    [Theory]
    [MemberData(nameof(ErrorTable))]
    public async Task IsTransientAsync_ReferenceErrorTable_AgreesWithClassify(int status, string body, SalesforceErrorKind expected)
    {
        // Arrange
        using var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body) };

        // Act
        var transient = await SalesforceErrors.IsTransientAsync(response, TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(expected == SalesforceErrorKind.Transient, transient);
        Assert.Equal(body, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Parse_R9IncorrectIdArray_ReadsCodeMessageAndFields()
    {
        // Arrange
        const string body = """
            [
            {
              "fields" : [ "Id" ],
              "message" : "Account ID: id value of incorrect type: 001900K0001pPuOAAU",
              "errorCode" : "MALFORMED_ID"
            }
            ]
            """;

        // Act
        var errors = SalesforceErrors.Parse(400, body);

        // Assert
        var error = Assert.Single(errors);
        Assert.Equal("MALFORMED_ID", error.ErrorCode);
        Assert.Equal("Account ID: id value of incorrect type: 001900K0001pPuOAAU", error.Message);
        Assert.Equal(["Id"], error.Fields);
    }

    [Fact]
    public void Parse_R9FieldLevelSecurity_ReadsFields()
    {
        // Arrange
        const string body = """[{"message":"Unable to create/update fields: IsClosedOnCreate. Please check the security settings of this field and verify that it is read/write for your profile or permission set.","errorCode":"INVALID_FIELD_FOR_INSERT_UPDATE","fields":["IsClosedOnCreate"]}]""";

        // Act
        var errors = SalesforceErrors.Parse(400, body);

        // Assert
        Assert.Equal("INVALID_FIELD_FOR_INSERT_UPDATE", errors[0].ErrorCode);
        Assert.Equal(["IsClosedOnCreate"], errors[0].Fields);
    }

    [Fact]
    public void Parse_HtmlBody_SummarizesWithoutThePage()
    {
        // Arrange
        const string body = "<html><head><title>Service Unavailable</title></head><body>secret-looking internals</body></html>";

        // Act
        var errors = SalesforceErrors.Parse(503, body);

        // Assert
        var error = Assert.Single(errors);
        Assert.Equal("HTTP_503", error.ErrorCode);
        Assert.Contains("Service Unavailable", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("internals", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToExceptionAsync_DailyLimit_SaysTheAllocationIsExhausted()
    {
        // Arrange
        using var response = StubHttpMessageHandler.Json(HttpStatusCode.Forbidden, """[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]""");

        // Act
        var ex = await SalesforceErrors.ToExceptionAsync(response, "query", TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(SalesforceErrorKind.LimitExceeded, ex.Kind);
        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal("REQUEST_LIMIT_EXCEEDED", ex.ErrorCode);
        Assert.Contains("daily API request limit", ex.Message, StringComparison.Ordinal);
    }
}
