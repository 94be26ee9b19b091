using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Benchmarks.Micro;

/// <summary>Parsing and validating a 100-event webhook body, against a bare <see cref="JsonDocument"/> parse of the same bytes.</summary>
[MemoryDiagnoser]
public class EventParserBenchmarks
{
    private readonly EventParser _parser = new(TimeProvider.System);
    private byte[] _body = [];

    [GlobalSetup]
    public void Setup()
    {
        var events = Enumerable.Range(0, 100).Select(i => new
        {
            id = $"evt-{i:D6}",
            email = $"Person.{i}@Example.com",
            salesforceId = "003" + i.ToString("D12", CultureInfo.InvariantCulture),
            occurredAt = "2026-11-28T10:00:00Z",
            source = "link",
            reason = "Unsubscribed from the footer link",
        });
        _body = JsonSerializer.SerializeToUtf8Bytes(new { unsubscribes = events });
    }

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse (floor)")]
    public int ParseJsonOnly()
    {
        using var document = JsonDocument.Parse(_body);
        return document.RootElement.GetProperty("unsubscribes").GetArrayLength();
    }

    [Benchmark(Description = "EventParser.Parse, 100 events")]
    public int ParseAndValidate() => _parser.Parse(_body).Events.Count;
}

/// <summary>Checksum and parsing of Salesforce Ids.</summary>
[MemoryDiagnoser]
public class SalesforceIdBenchmarks
{
    private const string Fifteen = "0035g00000ABCde";
    private const string Eighteen = "0035g00000ABCdeAAH";

    [Benchmark(Baseline = true, Description = "ComputeSuffix (15 → 3 chars)")]
    public string Suffix() => SalesforceId.ComputeSuffix(Fifteen);

    [Benchmark(Description = "Parse 15-char Id")]
    public string ParseFifteen() => SalesforceId.Parse(Fifteen).Value;

    [Benchmark(Description = "Parse 18-char Id (checksum verified)")]
    public string ParseEighteen() => SalesforceId.Parse(Eighteen).Value;
}

/// <summary>Building a 200-value SOQL IN list, against joining the same values unescaped.</summary>
[MemoryDiagnoser]
public class SoqlBenchmarks
{
    private string[] _emails = [];
    private SalesforceId[] _ids = [];

    [GlobalSetup]
    public void Setup()
    {
        _emails = Enumerable.Range(0, 200).Select(i => i % 10 == 0 ? $"o'brien.{i}@example.com" : $"person.{i}@example.com").ToArray();
        _ids = Enumerable.Range(0, 200).Select(i => SalesforceId.Parse("003" + i.ToString("D12", CultureInfo.InvariantCulture))).ToArray();
    }

    [Benchmark(Baseline = true, Description = "string.Join, unescaped (floor)")]
    public int JoinUnescaped() => ("('" + string.Join("','", _emails) + "')").Length;

    [Benchmark(Description = "Soql.InList, 200 emails")]
    public int InListEmails() => Soql.InList(_emails).Length;

    [Benchmark(Description = "Soql.InList, 200 Ids")]
    public int InListIds() => Soql.InList(_ids).Length;
}

/// <summary>Deserializing one 2,000-record query page with <see cref="SalesforceJson.Options"/>, against a bare <see cref="JsonDocument"/> parse.</summary>
[MemoryDiagnoser]
public class QueryPageBenchmarks
{
    private byte[] _page = [];

    [GlobalSetup]
    public void Setup()
    {
        var builder = new StringBuilder("{\"totalSize\":100000,\"done\":false,\"nextRecordsUrl\":\"/services/data/v66.0/query/01gD0000002HU6KIAW-2000\",\"records\":[");
        for (var i = 0; i < 2000; i++)
        {
            var id = SalesforceId.Parse("003" + i.ToString("D12", CultureInfo.InvariantCulture)).Value;
            builder.Append(i == 0 ? string.Empty : ",")
                .Append("{\"attributes\":{\"type\":\"Contact\",\"url\":\"/services/data/v66.0/sobjects/Contact/").Append(id).Append("\"},")
                .Append("\"Id\":\"").Append(id).Append("\",\"Email\":\"person.").Append(i).Append("@example.com\",")
                .Append("\"HasOptedOutOfEmail\":").Append(i % 3 == 0 ? "true" : "false")
                .Append(",\"SystemModstamp\":\"2026-11-28T04:00:00.000+0000\"}");
        }

        _page = Encoding.UTF8.GetBytes(builder.Append("]}").ToString());
    }

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse (floor)")]
    public int ParseDocument()
    {
        using var document = JsonDocument.Parse(_page);
        return document.RootElement.GetProperty("records").GetArrayLength();
    }

    [Benchmark(Description = "Deserialize page, SalesforceJson.Options")]
    public int Deserialize() => JsonSerializer.Deserialize<SalesforceClient.QueryPage<Row>>(_page, SalesforceJson.Options)!.Records!.Count;

    /// <summary>The fields a sync reads per record.</summary>
    public sealed class Row
    {
        public string? Id { get; set; }

        public string? Email { get; set; }

        public bool HasOptedOutOfEmail { get; set; }

        public DateTimeOffset? SystemModstamp { get; set; }
    }
}
