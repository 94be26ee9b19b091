using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Microsoft.OpenApi.YamlReader;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Tests.Infrastructure;
using UnsubscribeSync.Tests.Intake;

namespace UnsubscribeSync.Tests.Contract;

/// <summary>
/// <c>openapi.yaml</c> against the webhook's real answers: the document is valid OpenAPI 3.1, every response the
/// handler gives (the 202 with all its per-event results, and every <see cref="WebhookProblem"/>) matches the
/// documented status, media type, headers and schema, and the request schema takes the bodies senders send (our
/// own and Marketo Engage's) and refuses what the handler refuses. Runs over the real composition root and Azurite.
/// </summary>
public sealed class OpenApiContractTests : IAsyncLifetime
{
    private const string Operation = "/paths/~1unsubscribes/post";
    private static readonly Uri DocumentUri = new("https://unsubscribesync.invalid/openapi.json");
    private static readonly Lazy<Contract> Loaded = new(Contract.Load);
    private readonly TestStorage _storage = new();
    private ServiceProvider _services = null!;

    private static Contract Document => Loaded.Value;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = AppServices.Build(_storage, sandbox: null);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    /// <summary>Each way to make the handler answer with a problem; every <see cref="WebhookProblem"/> needs one at least.</summary>
    public static TheoryData<string> ProblemScenarios() => new(Scenarios.Select(s => s.Name));

    public static TheoryData<WebhookProblem> Problems() => new(Enum.GetValues<WebhookProblem>());

    private static readonly IReadOnlyList<ProblemScenario> Scenarios =
    [
        new("no event usable", WebhookProblem.Validation, t => t.PostAsync("""{"unsubscribes":[{"id":"a","email":"nope"},{"email":"b@example.com"}]}""")),
        new("not JSON", WebhookProblem.Validation, t => t.PostAsync("""{"id":"a",""")),
        new("empty body", WebhookProblem.Validation, t => t.PostAsync(string.Empty)),
        new("too many events", WebhookProblem.Validation, t => t.PostAsync(Batch(101))),
        new("unsigned while signatures are required", WebhookProblem.Signature, t => t.PostAsync(
            """{"id":"a","email":"a@example.com"}""", services: AppServices.Build(t._storage, sandbox: null, new Dictionary<string, string?> { ["Webhook:SigningSecret"] = "s3cret" }))),
        new("body over the limit", WebhookProblem.TooLarge, t => t.PostAsync($$"""{"id":"a","email":"a@example.com","reason":"{{new string('x', WebhookOptions.MaxBodyBytes)}}"}""")),
        new("XML", WebhookProblem.MediaType, t => t.PostAsync("<unsubscribe/>", "application/xml")),
        new("form fields", WebhookProblem.MediaType, t => t.PostAsync("id=a&email=a%40example.com", "application/x-www-form-urlencoded")),
        new("storage down", WebhookProblem.StorageUnavailable, async t =>
        {
            await using var down = new TestStorage(TestStorage.UnreachableConnectionString);
            return await t.PostAsync("""{"id":"a","email":"a@example.com"}""", services: AppServices.Build(down, sandbox: null));
        }),
        new("held by another attempt", WebhookProblem.InProgress, async t =>
        {
            // Another delivery of the event claimed it a moment ago and has not finished.
            await t._storage.IntakeRecords.GetOrAddAsync(
                new IntakeRecordEntity
                {
                    PartitionKey = IntakeRecords.KeyOf("evt-held"),
                    EventId = "evt-held",
                    EmailKey = "held@example.com",
                    ReceivedAt = DateTimeOffset.UtcNow,
                    EventJson = "{}",
                    ClaimedBy = "another-attempt",
                    ClaimedAt = DateTimeOffset.UtcNow,
                },
                Ct);
            return await t.PostAsync("""{"id":"evt-held","email":"held@example.com"}""");
        }),
    ];

    private static string Batch(int count) => HttpTestExtensions.ToJson(new
    {
        unsubscribes = Enumerable.Range(0, count).Select(i => new { id = $"evt-{i}", email = $"p{i}@example.com" }),
    });

    private async Task<HttpOutcome> PostAsync(string body, string contentType = "application/json", ServiceProvider? services = null)
    {
        try
        {
            var function = new ReceiveUnsubscribes((services ?? _services).GetRequiredService<WebhookHandler>());
            return await (await function.Run(HttpTestExtensions.JsonRequest(body, contentType), Ct)).ExecuteAsync();
        }
        finally
        {
            if (services is not null)
            {
                await services.DisposeAsync();
            }
        }
    }

    [Fact]
    public void Document_IsValidOpenApi31()
    {
        // Act
        var diagnostic = Document.Diagnostic;

        // Assert
        Assert.Empty(diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}"));
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, diagnostic.SpecificationVersion);
        Assert.NotNull(Document.Model.Paths["/unsubscribes"].Operations![System.Net.Http.HttpMethod.Post]);
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void Scenarios_EveryProblemTheHandlerCanAnswer_HasOne(WebhookProblem problem)
    {
        // Assert: a new WebhookProblem needs a scenario here, and so its documented response is checked.
        Assert.True(Scenarios.Any(s => s.Problem == problem), $"No scenario makes the handler answer {problem}: add one, and document its response in openapi.yaml.");
    }

    [Theory]
    [MemberData(nameof(ProblemScenarios))]
    public async Task Response_EachProblem_MatchesItsDocumentedResponse(string scenario)
    {
        // Arrange
        var s = Scenarios.Single(x => x.Name == scenario);

        // Act
        var outcome = await s.Run(this);

        // Assert
        Assert.Equal(s.Problem.Status(), outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:" + s.Problem.Slug(), outcome.Json["type"]!.GetValue<string>());
        AssertDocumented(outcome);
    }

    [Fact]
    public async Task Response_202WithEveryKindOfPerEventResult_MatchesIntakeResult()
    {
        // Arrange: recorded, recorded before, repeated within the request, rejected (with and without a usable id),
        // and recorded with a warning.
        await PostAsync("""{"id":"evt-before","email":"before@example.com"}""");
        var body = """
            {"unsubscribes":[
              {"id":"evt-new","email":"new@example.com","salesforceId":"0035g00000ABCde"},
              {"id":"evt-before","email":"before@example.com"},
              {"id":"evt-new","email":"new@example.com"},
              {"id":"evt-bad","email":"not-an-address"},
              {"id":"","email":"x@example.com"},
              {"id":"evt-warned","email":"warned@example.com","salesforceId":"0065g00000ABCde","source":"twitter"}
            ]}
            """;

        // Act
        var outcome = await PostAsync(body);

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["evt-new", "evt-warned"], outcome.Json["accepted"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["evt-before", "evt-new"], outcome.Json["duplicates"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["evt-bad", null], outcome.Json["rejected"]!.AsArray().Select(r => r!["id"]?.GetValue<string>()));
        Assert.Equal(2, outcome.Json["warnings"]!.AsArray().Count);
        AssertDocumented(outcome);
    }

    [Fact]
    public void Responses_Documented_AreExactlyThoseTheHandlerGives()
    {
        // Act
        var documented = Document.At(Operation + "/responses").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);

        // Assert: 202 and one status per problem, nothing the handler never answers.
        var given = Enum.GetValues<WebhookProblem>().Select(p => p.Status().ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("202");
        Assert.Equal(given.Distinct().Order(StringComparer.Ordinal), documented);
    }

    public static TheoryData<string, string> SenderBodies()
    {
        var marketo = MarketoRendering.ReadmeTemplate();
        var lead = new Dictionary<string, object?>
        {
            ["lead.Id"] = 318_004L,
            ["lead.Email Address"] = "O'Brien@Example.com",
            ["lead.SFDC ID"] = "00Q5g00000XyZ12AAA",
            ["system.dateTime"] = "2026-11-28 04:00:00",
            ["lead.Unsubscribed Reason"] = "Too many emails & calls",
        };
        return new()
        {
            { "README single event", """{ "id": "evt-7f3c", "type": "unsubscribe", "email": "Jane.Doe@Example.com", "salesforceId": "0035g00000ABCdeAAH", "occurredAt": "2026-11-28T10:00:00Z", "source": "link", "reason": "Not interested" }""" },
            { "minimal", """{"id":"evt-1","email":"a@example.com"}""" },
            { "batch with a resubscribe", """{"unsubscribes":[{"id":"evt-1","email":"a@example.com"},{"id":"evt-2","type":"resubscribe","email":"b@example.com","occurredAt":"2026-11-28T09:00:00+01:00","reason":"Asked to be opted back in"}]}""" },
            { "Marketo Engage, README template", MarketoRendering.Render(marketo, lead) },
            { "Marketo Engage, HTML-encoded tokens", MarketoRendering.Render(marketo, lead, htmlEncodeTokens: true) },
            { "Marketo Engage, no Salesforce Id or reason", MarketoRendering.Render(marketo, new Dictionary<string, object?>(lead) { ["lead.SFDC ID"] = null, ["lead.Unsubscribed Reason"] = null }) },
            { "Marketo Engage, booleans as strings", """{"marketoLeadId":"318004","email":"a@example.com","unsubscribed":"TRUE","occurredAt":"2026-11-28 04:00:00"}""" },
        };
    }

    [Theory]
    [MemberData(nameof(SenderBodies))]
    public async Task RequestSchema_BodiesSendersSend_AreValidAndRecorded(string sender, string body)
    {
        // Act
        var evaluation = Document.Validate(Operation + "/requestBody/content/application~1json/schema", Parse(body));
        var outcome = await PostAsync(body);

        // Assert
        Assert.True(evaluation.IsValid, $"{sender}: {Describe(evaluation)}");
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Empty(outcome.Json["rejected"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"unsubscribes":[]}""")]
    [InlineData("""{"unsubscribes":{"id":"a","email":"a@example.com"}}""")]
    [InlineData("""{"email":"a@example.com"}""")]
    [InlineData("""{"id":"a"}""")]
    [InlineData("""[{"id":"a","email":"a@example.com"}]""")]
    [InlineData("""{"id":"a","email":"a@example.com","salesforceId":"0035g00000"}""")]
    [InlineData("""{"id":"a","email":"a@example.com","occurredAt":"yesterday"}""")]
    public void RequestSchema_BodiesTheContractRefuses_AreInvalid(string body)
    {
        // Act
        var evaluation = Document.Validate(Operation + "/requestBody/content/application~1json/schema", Parse(body));

        // Assert
        Assert.False(evaluation.IsValid);
    }

    [Fact]
    public async Task Examples_InTheDocument_AreValidAndRecorded()
    {
        // Arrange
        var examples = Document.At(Operation + "/requestBody/content/application~1json/examples").EnumerateObject().ToList();

        // Act + Assert
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            var value = example.Value.GetProperty("value");
            var evaluation = Document.Validate(Operation + "/requestBody/content/application~1json/schema", value);
            Assert.True(evaluation.IsValid, $"{example.Name}: {Describe(evaluation)}");
            var outcome = await PostAsync(value.GetRawText());
            Assert.True(outcome.Status == 202 && outcome.Json["rejected"]!.AsArray().Count == 0, $"{example.Name}: {outcome.Body}");
        }
    }

    // The response's status is documented, its media type is one the status lists, its required headers are there,
    // and its body matches that media type's schema.
    private static void AssertDocumented(HttpOutcome outcome)
    {
        var status = outcome.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var responses = Document.At(Operation + "/responses");
        Assert.True(responses.TryGetProperty(status, out var response), $"Status {status} is not documented: {outcome.Body}");

        var mediaType = outcome.ContentType.Split(';')[0].Trim();
        Assert.True(response.GetProperty("content").TryGetProperty(mediaType, out _), $"Status {status} does not document {mediaType}");
        if (response.TryGetProperty("headers", out var headers))
        {
            foreach (var header in headers.EnumerateObject().Where(h => h.Value.TryGetProperty("required", out var r) && r.GetBoolean()))
            {
                Assert.True(outcome.Headers.ContainsKey(header.Name), $"Status {status} must carry {header.Name}");
            }
        }

        var evaluation = Document.Validate($"{Operation}/responses/{status}/content/{mediaType.Replace("/", "~1", StringComparison.Ordinal)}/schema", Parse(outcome.Body));
        Assert.True(evaluation.IsValid, $"{status} body {outcome.Body} does not match its schema: {Describe(evaluation)}");
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static string Describe(EvaluationResults results) => string.Join(
        "; ",
        (results.Details ?? []).Prepend(results)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")));

    private sealed record ProblemScenario(string Name, WebhookProblem Problem, Func<OpenApiContractTests, Task<HttpOutcome>> Run);

    /// <summary>openapi.yaml, read once: the OpenAPI model (to check it is valid 3.1) and its JSON (to validate against).</summary>
    private sealed class Contract(OpenApiDocument model, OpenApiDiagnostic diagnostic, JsonElement json)
    {
        private readonly BuildOptions _build = Register(json);

        public OpenApiDocument Model { get; } = model;

        public OpenApiDiagnostic Diagnostic { get; } = diagnostic;

        public static Contract Load()
        {
            var root = typeof(OpenApiContractTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
            var yaml = File.ReadAllText(Path.Combine(root, "openapi.yaml"));
            var settings = new OpenApiReaderSettings();
            settings.AddYamlReader();
            var read = OpenApiDocument.Parse(yaml, "yaml", settings);

            var stream = new SharpYaml.Serialization.YamlStream();
            stream.Load(new StringReader(yaml));
            var json = JsonSerializer.SerializeToElement(stream.Documents[0].ToJsonNode());
            return new Contract(read.Document!, read.Diagnostic!, json);
        }

        public JsonElement At(string pointer) => Json.Pointer.JsonPointer.Parse(pointer).Evaluate(json)
            ?? throw new InvalidOperationException($"openapi.yaml has nothing at {pointer}");

        /// <summary>Evaluates an instance against the schema at <paramref name="pointer"/>; its <c>$ref</c>s resolve within the document.</summary>
        public EvaluationResults Validate(string pointer, JsonElement instance)
        {
            // A pointer in a URI fragment is percent-decoded, '+' included (application/problem+json).
            var fragment = string.Concat(pointer.Select(c => char.IsAsciiLetterOrDigit(c) || "/~-._".Contains(c) ? c.ToString() : Uri.EscapeDataString(c.ToString())));
            var schema = JsonSchema.FromText($$"""{"$ref":"{{DocumentUri}}#{{fragment}}"}""", _build);
            return schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        }

        private static BuildOptions Register(JsonElement document)
        {
            var registry = new SchemaRegistry();
            registry.Register(new JsonElementBaseDocument(document, DocumentUri));
            return new BuildOptions { SchemaRegistry = registry };
        }
    }
}
