using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceClientTests
{
    private static readonly SalesforceId Contact = SalesforceId.Parse("003RO0000035WQgYAM");
    private static readonly SalesforceId Contact2 = SalesforceId.Parse("003xx000004TmiQAAS");
    private static readonly SalesforceId Lead = SalesforceId.Parse("00Q5e00000AbCdE");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, object?> OptOut => new() { ["HasOptedOutOfEmail"] = true };

    private sealed record ContactRow(string Id, string? Name);

    #region UpdateRecordAsync

    [Fact]
    public async Task UpdateRecordAsync_Success_PatchesOnlyTheFieldsAtTheInstance()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler, Settings(login: "https://acme--login.my.salesforce.com"));
        var client = services.GetRequiredService<ISalesforceClient>();
        var fields = new Dictionary<string, object?> { ["Id"] = Contact.Value, ["attributes"] = new { type = "Contact" }, ["HasOptedOutOfEmail"] = true };

        // Act
        await client.UpdateRecordAsync(Contact, fields, Ct);

        // Assert
        var request = Assert.Single(handler.RequestsTo("/sobjects/"));
        Assert.Equal(HttpMethod.Patch, request.Method);
        Assert.Equal(new Uri("https://acme.my.salesforce.com/services/data/v66.0/sobjects/Contact/003RO0000035WQgYAM"), request.Uri);
        Assert.Equal("Bearer 00Dx!token-1", request.Authorization);
        Assert.Equal("""{"HasOptedOutOfEmail":true}""", request.Body);
        Assert.Equal(new Uri("https://acme--login.my.salesforce.com/services/oauth2/token"), handler.Requests[0].Uri);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(500)]
    public async Task UpdateRecordAsync_UnableToLockRow_RetriesThenSucceeds(int status)
    {
        // Arrange
        var attempts = 0;
        var handler = SalesforceTestHost.Salesforce((_, _) => ++attempts < 3
            ? StubHttpMessageHandler.Json((HttpStatusCode)status, """[{"message":"unable to obtain exclusive access to this record or 1 records: 0035cFAKESFIDAAI","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]""")
            : StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        Assert.Equal(3, handler.RequestsTo("/sobjects/").Count);
        Assert.Single(handler.RequestsTo("/oauth2/token"));
    }

    [Fact]
    public async Task UpdateRecordAsync_ConcurrencyLimit_Retries()
    {
        // Arrange
        var attempts = 0;
        var handler = SalesforceTestHost.Salesforce((_, _) => ++attempts == 1
            ? StubHttpMessageHandler.Json(HttpStatusCode.Forbidden, """[{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]""")
            : StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        Assert.Equal(2, handler.RequestsTo("/sobjects/").Count);
    }

    [Fact]
    public async Task UpdateRecordAsync_PersistentHtml503_ThrowsTransientAfterAllRetries()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Html(HttpStatusCode.ServiceUnavailable, "<html><head><title>Service Unavailable</title></head></html>"));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, ex.Kind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Equal("HTTP_503", ex.ErrorCode);
        Assert.Equal(4, handler.RequestsTo("/sobjects/").Count);
    }

    [Fact]
    public async Task UpdateRecordAsync_EveryAttemptHangs_ThrowsTransientTimeoutAfterRetries()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        handler.BeforeRespond = ct => handler.Requests[^1].Uri.AbsolutePath.Contains("/sobjects/", StringComparison.Ordinal)
            ? Task.Delay(TimeSpan.FromSeconds(30), ct)
            : Task.CompletedTask;
        var settings = Settings();
        settings["Salesforce:AttemptTimeout"] = "00:00:00.050";
        using var services = SalesforceTestHost.Build(handler, settings);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, ex.Kind);
        Assert.IsType<Polly.Timeout.TimeoutRejectedException>(ex.InnerException);
        Assert.Equal(4, handler.RequestsTo("/sobjects/").Count);
    }

    [Fact]
    public async Task UpdateRecordAsync_DailyLimit_ThrowsLimitExceededWithoutRetry()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.Forbidden, """[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]""", "api-usage=5001/5000"));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.LimitExceeded, ex.Kind);
        Assert.Single(handler.RequestsTo("/sobjects/"));
        Assert.Equal(5001, services.GetRequiredService<ISalesforceApiUsage>().Latest!.Used);
    }

    [Theory]
    [InlineData(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")]
    [InlineData(404, "ENTITY_IS_DELETED", "entity is deleted")]
    public async Task UpdateRecordAsync_RecordMovedOn_ThrowsNeedsRedirectWithoutRetry(int status, string code, string message)
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json((HttpStatusCode)status, $$"""[{"message":"{{message}}","errorCode":"{{code}}","fields":[]}]"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Lead, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.NeedsRedirect, ex.Kind);
        Assert.Equal(code, ex.ErrorCode);
        Assert.Single(handler.RequestsTo("/sobjects/"));
    }

    [Fact]
    public async Task UpdateRecordAsync_InvalidFieldForUpdate_ThrowsPermanentWithFields()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.BadRequest, """[{"message":"Unable to create/update fields: HasOptedOutOfEmail.","errorCode":"INVALID_FIELD_FOR_INSERT_UPDATE","fields":["HasOptedOutOfEmail"]}]"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Permanent, ex.Kind);
        Assert.Equal(["HasOptedOutOfEmail"], ex.Fields);
        Assert.Single(handler.RequestsTo("/sobjects/"));
    }

    [Fact]
    public async Task UpdateRecordAsync_SessionExpired_RefreshesOnceAndReplays()
    {
        // Arrange
        var apiCalls = 0;
        var handler = SalesforceTestHost.Salesforce((_, _) => ++apiCalls == 1
            ? StubHttpMessageHandler.Json(HttpStatusCode.Unauthorized, """[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]""")
            : StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        Assert.Equal(2, handler.RequestsTo("/oauth2/token").Count);
        var patches = handler.RequestsTo("/sobjects/");
        Assert.Equal(2, patches.Count);
        Assert.Equal(patches[0].Body, patches[1].Body);
    }

    [Fact]
    public async Task UpdateRecordAsync_SecondUnauthorized_ThrowsAuthentication()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.Unauthorized, """[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
        Assert.Equal(2, handler.RequestsTo("/sobjects/").Count);
        Assert.Equal(2, handler.RequestsTo("/oauth2/token").Count);
    }

    [Fact]
    public async Task UpdateRecordAsync_TokenEndpointRejectsSecret_ThrowsConfigurationErrorWithoutRetry()
    {
        // Arrange
        var handler = new StubHttpMessageHandler((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.BadRequest, """{"error":"invalid_client","error_description":"invalid client credentials"}"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
        Assert.Equal("Salesforce:ClientSecret", ex.Setting);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task UpdateRecordAsync_TokenEndpointOutage_RetriedByThePipeline()
    {
        // Arrange
        var tokenCalls = 0;
        var handler = new StubHttpMessageHandler((request, _) => request.RequestUri!.AbsolutePath == "/services/oauth2/token"
            ? ++tokenCalls == 1
                ? StubHttpMessageHandler.Html(HttpStatusCode.ServiceUnavailable, "<html><title>Down</title></html>")
                : StubHttpMessageHandler.Json(HttpStatusCode.OK, SalesforceTestHost.TokenBody)
            : StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        Assert.Equal(2, tokenCalls);
        Assert.Single(handler.RequestsTo("/sobjects/"));
    }

    [Fact]
    public async Task UpdateRecordAsync_PersistentFault_OpensTheCircuit()
    {
        // Arrange
        var settings = Settings();
        settings["Salesforce:MaxRetryAttempts"] = "0";
        settings["Salesforce:CircuitBreakerMinimumThroughput"] = "4";
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.ServiceUnavailable, """[{"message":"server too busy","errorCode":"SERVER_UNAVAILABLE"}]"""));
        using var services = SalesforceTestHost.Build(handler, settings);
        var client = services.GetRequiredService<ISalesforceClient>();
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));
        }

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(Contact, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, ex.Kind);
        Assert.IsType<Polly.CircuitBreaker.BrokenCircuitException>(ex.InnerException, exactMatch: false);
        Assert.Equal(4, handler.RequestsTo("/sobjects/").Count);
    }

    [Fact]
    public async Task UpdateRecordAsync_LimitInfoHeader_UpdatesUsage()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) =>
        {
            var response = StubHttpMessageHandler.NoContent();
            response.Headers.TryAddWithoutValidation("Sforce-Limit-Info", "api-usage=10018/100000; api-bursts=1/750");
            return response;
        });
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        var usage = services.GetRequiredService<ISalesforceApiUsage>();
        Assert.Equal(10018, usage.Latest!.Used);
        Assert.Equal(100000, usage.Latest.Limit);
        Assert.Equal(0.10018, usage.Fraction!.Value, 5);
        Assert.Null(usage.UnreportedAt);
    }

    [Fact]
    public async Task UpdateRecordAsync_AnswerWithoutLimitInfo_MarksUsageUnreportedButNotForTheToken()
    {
        // Arrange: the stub's token answer carries no header either, as Salesforce's does not.
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();
        var usage = services.GetRequiredService<ISalesforceApiUsage>();
        await services.GetRequiredService<ISalesforceTokenProvider>().GetTokenAsync(Ct);
        var afterToken = usage.UnreportedAt;

        // Act
        await client.UpdateRecordAsync(Contact, OptOut, Ct);

        // Assert
        Assert.Null(afterToken);
        Assert.NotNull(usage.UnreportedAt);
        Assert.Null(usage.Latest);
    }

    #endregion

    #region UpdateRecordsAsync

    [Fact]
    public async Task UpdateRecordsAsync_R6AllSucceeded_MapsEveryRecord()
    {
        // Arrange
        const string r6 = """
            [
               {
                  "id" : "001RM000003oCprYAE",
                  "success" : true,
                  "errors" : [ ]
               },
               {
                  "id" : "003RM0000068og4YAA",
                  "success" : true,
                  "errors" : [ ]
               }
            ]
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r6));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var results = await client.UpdateRecordsAsync([new(Contact, OptOut), new(Contact2, OptOut)], Ct);

        // Assert
        Assert.All(results, r => Assert.True(r.Success));
        Assert.All(results, r => Assert.Null(r.Kind));
        Assert.Equal([Contact, Contact2], results.Select(r => r.Id));
    }

    [Fact]
    public async Task UpdateRecordsAsync_R7PartialFailure_FailedRecordWithoutIdKeepsCallersId()
    {
        // Arrange
        const string r7 = """
            [
               {
                  "id" : "001RM000003oCprYAE",
                  "success" : true,
                  "errors" : [ ]
               },
               {
                  "success" : false,
                  "errors" : [
                     {
                        "statusCode" : "MALFORMED_ID",
                        "message" : "Contact ID: id value of incorrect type: 001xx000003DGb2999",
                        "fields" : [
                           "Id"
                        ]
                     }
                  ]
               }
            ]
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r7));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var results = await client.UpdateRecordsAsync([new(Contact, OptOut), new(Contact2, OptOut)], Ct);

        // Assert
        Assert.True(results[0].Success);
        Assert.False(results[1].Success);
        Assert.Equal(Contact2, results[1].Id);
        Assert.Equal("MALFORMED_ID", results[1].ErrorCode);
        Assert.Equal(["Id"], results[1].Errors[0].Fields);
        Assert.Equal(SalesforceErrorKind.Permanent, results[1].Kind);
    }

    [Fact]
    public async Task UpdateRecordsAsync_R8RolledBack_GoodRecordIsTransient()
    {
        // Arrange
        const string r8 = """
            [
               {
                  "id" : "001RM000003oCprYAE",
                  "success" : false,
                  "errors" : [
                     {
                        "statusCode" : "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message" : "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        "fields" : [ ]
                     }
                  ]
               },
               {
                  "success" : false,
                  "errors" : [
                     {
                        "statusCode" : "MALFORMED_ID",
                        "message" : "Contact ID: id value of incorrect type: 001xx000003DGb2999",
                        "fields" : [
                           "Id"
                        ]
                     }
                  ]
               }
            ]
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r8));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var results = await client.UpdateRecordsAsync([new(Contact, OptOut), new(Contact2, OptOut)], Ct);

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, results[0].Kind);
        Assert.Equal(SalesforceErrorKind.Permanent, results[1].Kind);
    }

    [Fact]
    public async Task UpdateRecordsAsync_MixedTypes_SendsGroupedByTypeAndMapsBackToCallersOrder()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, body) =>
        {
            // Fail whichever record is the Lead, by its position in the request.
            using var doc = JsonDocument.Parse(body);
            var results = doc.RootElement.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("attributes").GetProperty("type").GetString() == "Lead"
                ? """{"success":false,"errors":[{"statusCode":"CANNOT_UPDATE_CONVERTED_LEAD","message":"cannot reference converted lead","fields":[]}]}"""
                : $$"""{"id":"{{r.GetProperty("id").GetString()}}","success":true,"errors":[]}""");
            return StubHttpMessageHandler.Json(HttpStatusCode.OK, $"[{string.Join(',', results)}]");
        });
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var results = await client.UpdateRecordsAsync([new(Lead, OptOut), new(Contact, OptOut), new(Contact2, OptOut)], Ct);

        // Assert
        using var sent = JsonDocument.Parse(handler.RequestsTo("/composite/sobjects").Single().Body);
        Assert.False(sent.RootElement.GetProperty("allOrNone").GetBoolean());
        var records = sent.RootElement.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(["Contact", "Contact", "Lead"], records.Select(r => r.GetProperty("attributes").GetProperty("type").GetString()));
        Assert.Equal(Contact.Value, records[0].GetProperty("id").GetString());
        Assert.True(records[0].GetProperty("HasOptedOutOfEmail").GetBoolean());
        Assert.Equal([Lead, Contact, Contact2], results.Select(r => r.Id));
        Assert.Equal([false, true, true], results.Select(r => r.Success));
        Assert.Equal(SalesforceErrorKind.NeedsRedirect, results[0].Kind);
    }

    [Fact]
    public async Task UpdateRecordsAsync_MoreThan200_ThrowsArgumentExceptionWithoutCalling()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();
        var records = Enumerable.Repeat(new SalesforceRecordUpdate(Contact, OptOut), 201).ToList();

        // Act
        await Assert.ThrowsAsync<ArgumentException>(() => client.UpdateRecordsAsync(records, Ct));

        // Assert
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task UpdateRecordsAsync_ResultCountMismatch_ThrowsBecauseOutcomesAreUnknown()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, """[{"id":"003RO0000035WQgYAM","success":true,"errors":[]}]"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordsAsync([new(Contact, OptOut), new(Contact2, OptOut)], Ct));

        // Assert
        Assert.Contains("1 results for 2 records", ex.Message, StringComparison.Ordinal);
    }

    #endregion

    #region Query, describe, limits

    [Fact]
    public async Task QueryAsync_R5ShapedPages_FollowsNextRecordsUrlAndYieldsAll()
    {
        // Arrange: R5's first page (without the "..." placeholder) and RF's last page.
        const string first = """
            {
              "totalSize": 3222,
              "done": false,
              "nextRecordsUrl": "/services/data/v66.0/query/01gRO0000016PIAYA2-500",
              "records": [
                {
                  "attributes": {
                    "type": "Contact",
                    "url": "/services/data/v66.0/sobjects/Contact/003RO0000035WQgYAM"
                  },
                  "Id": "003RO0000035WQgYAM",
                  "Name": "John Smith"
                }
              ]
            }
            """;
        const string last = """
            {
              "totalSize" : 2,
              "done" : true,
              "records" : [ {
                "attributes" : {
                  "type" : "Contact",
                  "url" : "/services/data/v20.0/sobjects/Contact/003xx000004TmiQAAS"
                },
                "Id" : "003xx000004TmiQAAS",
                "Name" : "Last Page"
              } ]
            }
            """;
        var handler = SalesforceTestHost.Salesforce((request, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK,
            request.RequestUri!.AbsolutePath.EndsWith("01gRO0000016PIAYA2-500", StringComparison.Ordinal) ? last : first));
        var settings = Settings();
        settings["Salesforce:QueryBatchSize"] = "500";
        using var services = SalesforceTestHost.Build(handler, settings);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var rows = await client.QueryAsync<ContactRow>("SELECT Id, Name FROM Contact WHERE Email = 'o\\'brien@example.com'", Ct).ToListAsync(Ct);

        // Assert
        Assert.Equal([new ContactRow("003RO0000035WQgYAM", "John Smith"), new ContactRow("003xx000004TmiQAAS", "Last Page")], rows);
        var requests = handler.RequestsTo("/services/data/");
        Assert.Equal(2, requests.Count);
        Assert.Equal("/services/data/v66.0/query", requests[0].Uri.AbsolutePath);
        Assert.Equal("SELECT Id, Name FROM Contact WHERE Email = 'o\\'brien@example.com'", Uri.UnescapeDataString(requests[0].Uri.Query["?q=".Length..]));
        Assert.Equal("https://acme.my.salesforce.com/services/data/v66.0/query/01gRO0000016PIAYA2-500", requests[1].Uri.ToString());
        Assert.All(requests, r => Assert.Equal("batchSize=500", r.Headers["Sforce-Query-Options"]));
    }

    [Fact]
    public async Task QueryAsync_R4SinglePage_ParsesRecords()
    {
        // Arrange: R4 without the "..." placeholder.
        const string r4 = """
            {
                "done" : true,
                "totalSize" : 14,
                "records" :
                [
                    {
                        "attributes" :
                        {
                            "type" : "Account",
                            "url" : "/services/data/v66.0/sobjects/Account/001D000000IRFmaIAH"
                        },
                        "Name" : "Test 1"
                    },
                    {
                        "attributes" :
                        {
                            "type" : "Account",
                            "url" : "/services/data/v66.0/sobjects/Account/001D000000IomazIAB"
                        },
                        "Name" : "Test 2"
                    }
                ]
            }
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r4));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var names = await client.QueryAllAsync<JsonElement>("SELECT Name FROM Account", Ct).Select(r => r.GetProperty("Name").GetString()).ToListAsync(Ct);

        // Assert
        Assert.Equal(["Test 1", "Test 2"], names);
        Assert.Equal("/services/data/v66.0/queryAll", handler.RequestsTo("/services/data/").Single().Uri.AbsolutePath);
        Assert.False(handler.RequestsTo("/services/data/").Single().Headers.ContainsKey("Sforce-Query-Options"));
    }

    [Fact]
    public async Task QueryAsync_NextRecordsUrlOffInstance_Throws()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, """{"totalSize":2,"done":false,"nextRecordsUrl":"https://evil.example/steal","records":[]}"""));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(async () => await client.QueryAsync<JsonElement>("SELECT Id FROM Contact", Ct).ToListAsync(Ct));

        // Assert
        Assert.Contains("nextRecordsUrl", ex.Message, StringComparison.Ordinal);
        Assert.Single(handler.RequestsTo("/services/data/"));
    }

    [Fact]
    public async Task DescribeAsync_R10Excerpt_ReadsFields()
    {
        // Arrange
        const string r10 = """
            {
              "name" : "Whizbang",
              "fields" : [ {
                "length" : 18, "name" : "Id", "type" : "id", "defaultValue" : null, "label" : "Record ID",
                "updateable" : false, "calculated" : false, "controllerName" : null, "nillable" : false,
                "unique" : false, "precision" : 0, "scale" : 0, "caseSensitive" : false, "byteLength" : 18,
                "inlineHelpText" : null, "nameField" : false, "externalId" : false, "idLookup" : true,
                "filterable" : true, "soapType" : "tns:ID", "createable" : false, "deprecatedAndHidden" : false,
                "autoNumber" : false, "calculatedFormula" : null, "defaultValueFormula" : null,
                "defaultedOnCreate" : true, "digits" : 0, "groupable" : true, "picklistValues" : [ ],
                "referenceTo" : [ ], "relationshipName" : null, "relationshipOrder" : null,
                "restrictedPicklist" : false, "namePointing" : false, "custom" : false, "htmlFormatted" : false,
                "dependentPicklist" : false, "writeRequiresMasterRead" : false, "sortable" : true
              }, {
                "name" : "HasOptedOutOfEmail", "type" : "boolean", "label" : "Email Opt Out",
                "custom" : false, "updateable" : true, "soapType" : "xsd:boolean"
              } ]
            }
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r10));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var describe = await client.DescribeAsync("Whizbang", Ct);

        // Assert
        Assert.Equal("Whizbang", describe.Name);
        Assert.Equal(new FieldDescription("Id", "Record ID", "id", false, false), describe.FindField("id"));
        Assert.True(describe.FindField("HasOptedOutOfEmail")!.IsBoolean);
        Assert.Equal("/services/data/v66.0/sobjects/Whizbang/describe", handler.RequestsTo("/services/data/").Single().Uri.AbsolutePath);
    }

    [Fact]
    public async Task GetLimitsAsync_R11Excerpt_ReadsDailyApiRequests()
    {
        // Arrange
        const string r11 = """
            {
                "ActiveScratchOrgs": { "Max": 3, "Remaining": 3 },
                "AnalyticsExternalDataSizeMB": { "Max": 40960, "Remaining": 40960 },
                "ConcurrentAsyncGetReportInstances": { "Max": 200, "Remaining": 200 },
                "DailyApiRequests": { "Max": 5000, "Remaining": 4937, "Ant Migration Tool": { "Max": 0, "Remaining": 0 } },
                "DailyAsyncApexExecutions": { "Max": "250000", "Remaining": "250000" }
            }
            """;
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.OK, r11, "api-usage=63/5000"));
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var limits = await client.GetLimitsAsync(Ct);

        // Assert
        Assert.Equal(new SalesforceLimit(5000, 4937), limits.DailyApiRequests);
        Assert.Equal(63, limits.DailyApiRequests!.Used);
        Assert.Equal(new SalesforceLimit(250000, 250000), limits.All["DailyAsyncApexExecutions"]);
    }

    [Fact]
    public async Task DescribeAsync_NotAnApiName_ThrowsArgumentException()
    {
        // Arrange
        var handler = SalesforceTestHost.Salesforce((_, _) => StubHttpMessageHandler.NoContent());
        using var services = SalesforceTestHost.Build(handler);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        // Assert
        await Assert.ThrowsAsync<ArgumentException>(() => client.DescribeAsync("../limits", Ct));
    }

    #endregion

    private static Dictionary<string, string?> Settings(string login = "https://acme.my.salesforce.com") => SalesforceTestHost.FastSettings(login);
}
