using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>A webhook answer read by the README's contract: the 202 lists, or a problem's type and named fields.</summary>
public sealed record WebhookAnswer(
    int Status,
    IReadOnlyList<string> Accepted,
    IReadOnlyList<string> Duplicates,
    IReadOnlyList<(int Index, string? Id, IReadOnlyList<string> Fields)> Rejected,
    IReadOnlyList<(int Index, string Id, string Field)> Warnings,
    string? ProblemType,
    IReadOnlyList<string> ProblemFields)
{
    /// <summary>Every field or header the answer names: a problem's <c>errors</c>, a rejection's <c>errors</c>, a warning's <c>field</c>.</summary>
    public IEnumerable<string> NamedFields =>
        ProblemFields.Concat(Rejected.SelectMany(r => r.Fields)).Concat(Warnings.Select(w => w.Field));
}

/// <summary>
/// What the webhook promises after any request, however hostile: never a 5xx; a 202 in the documented shape or a
/// 4xx problem naming the field or header; and no partial write. Every event the 202 lists as accepted is complete
/// as <see cref="IntakeService"/> defines it (intake record <c>Queued</c>, the ledger's state row and its link,
/// the audit entry, a push message for each link it left owing a write), and nothing else was written: no row or
/// message for a rejected event, a duplicate or a refused request, and no row Azure would refuse.
/// </summary>
public static class WebhookPromises
{
    private const string ProblemTypePrefix = "urn:unsubscribesync:problem:";

    /// <summary>Checks the promises and returns the answer for further checks; <paramref name="context"/> leads every failure message.</summary>
    public static WebhookAnswer AssertKept(HttpOutcome outcome, StorageSnapshot before, StorageSnapshot after, string context)
    {
        Assert.True(outcome.Status < 500, $"{context}: answered {outcome.Status}: {outcome.Body}");
        var answer = Read(outcome, context);
        AssertNoPartialWrite(answer, before, after, context);
        return answer;
    }

    /// <summary>Reads the answer, failing unless it has the documented shape for its status.</summary>
    public static WebhookAnswer Read(HttpOutcome outcome, string context)
    {
        var where = $"{context}: answered {outcome.Status} {outcome.ContentType} {Clip(outcome.Body)}";
        JsonObject json;
        try
        {
            json = JsonNode.Parse(outcome.Body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException ex)
        {
            Assert.Fail($"{where}: the body is not a JSON object ({ex.Message})");
            throw;
        }

        if (outcome.Status == 202)
        {
            Assert.True(outcome.ContentType.StartsWith("application/json", StringComparison.Ordinal), where);
            Assert.True(json.Select(p => p.Key).Order(StringComparer.Ordinal).SequenceEqual(["accepted", "duplicates", "rejected", "warnings"]), where);
            var accepted = Strings(json["accepted"], where);
            var duplicates = Strings(json["duplicates"], where);
            Assert.True(accepted.Count + duplicates.Count > 0, $"{where}: a 202 must have recorded something");
            Assert.True(accepted.Distinct(StringComparer.Ordinal).Count() == accepted.Count, $"{where}: an id accepted twice");
            var rejected = Objects(json["rejected"], where).Select(r => (
                Index: Index(r, where),
                Id: r["id"] is { } id ? Text(id, where) : null,
                Fields: (IReadOnlyList<string>)ErrorFields(r["errors"], where))).ToList();
            var warnings = Objects(json["warnings"], where).Select(w => (
                Index: Index(w, where),
                Id: Text(w["id"], where),
                Field: Text(w["field"], where))).ToList();
            Assert.All(Objects(json["warnings"], where), w => Assert.False(string.IsNullOrWhiteSpace(Text(w["message"], where)), where));
            Assert.All(warnings, w => Assert.True(accepted.Contains(w.Id) || duplicates.Contains(w.Id), $"{where}: a warning for an event not recorded"));
            return new WebhookAnswer(202, accepted, duplicates, rejected, warnings, null, []);
        }

        Assert.True(outcome.Status is >= 400 and < 500, where);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.True(json["status"]?.GetValue<int>() == outcome.Status, $"{where}: the problem's status differs");
        var type = Text(json["type"], where);
        Assert.True(type.StartsWith(ProblemTypePrefix, StringComparison.Ordinal), $"{where}: type {type}");
        Assert.False(string.IsNullOrWhiteSpace(Text(json["title"], where)), where);
        return new WebhookAnswer(outcome.Status, [], [], [], [], type, ErrorFields(json["errors"], where));
    }

    /// <summary>Checks that the request wrote exactly the complete records of the events it reports as accepted.</summary>
    public static void AssertNoPartialWrite(WebhookAnswer answer, StorageSnapshot before, StorageSnapshot after, string context)
    {
        var diff = after.Diff(before);
        var where = $"{context}: wrote {diff}";
        Assert.True(diff.Removed.Count == 0, $"{where}: rows removed");
        foreach (var id in diff.Written)
        {
            Assert.True(AzureTableRules.Violations(after.Rows[id]) is [], $"{where}: Azure would refuse {id}: {string.Join("; ", AzureTableRules.Violations(after.Rows[id]))}");
        }

        Assert.True(after.RowsOf("IntakeTable").All(r => r.GetString("Stage") == nameof(IntakeStage.Queued)), $"{where}: an intake record stopped half-way");
        if (answer.Status != 202)
        {
            Assert.True(diff.IsEmpty, $"{where}: a refused request wrote something");
            return;
        }

        var expectedIntake = new HashSet<RowId>();
        var expectedAudit = new HashSet<RowId>();
        var emailKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var eventId in answer.Accepted)
        {
            var intakeId = new RowId("IntakeTable", IntakeRecords.KeyOf(eventId), IntakeRecordEntity.RowKeyValue);
            var intake = after.Rows.GetValueOrDefault(intakeId);
            Assert.True(intake is not null, $"{where}: accepted {eventId} has no intake record");
            Assert.Equal(eventId, intake.GetString("EventId"));
            expectedIntake.Add(intakeId);

            var stored = StoredEvent.Deserialize(intake.GetString("EventJson"));
            emailKeys[eventId] = stored.Email.Key;
            Assert.True(after.Row("LedgerTable", stored.Email.Key, ConsentStateEntity.RowKeyValue) is not null, $"{where}: accepted {eventId} has no ledger state");
            if (stored.SalesforceId is { } salesforceId)
            {
                Assert.True(after.Row("LedgerTable", stored.Email.Key, RecordLinkEntity.RowKeyFor(salesforceId.Value)) is not null, $"{where}: accepted {eventId} has no link to {salesforceId}");
            }

            var auditId = new RowId("AuditTable", stored.Email.Key, AuditLog.EventRowKey(stored.OccurredAt, eventId));
            Assert.True(after.Rows.TryGetValue(auditId, out var audit) && audit.GetString("EventId") == eventId, $"{where}: accepted {eventId} has no audit entry");
            expectedAudit.Add(auditId);
        }

        var written = diff.Written.ToList();
        Assert.All(written.Where(r => r.Table == "IntakeTable"), r => Assert.True(expectedIntake.Contains(r), $"{where}: intake row {r} is not an accepted event's"));
        Assert.All(written.Where(r => r.Table == "AuditTable"), r => Assert.True(expectedAudit.Contains(r), $"{where}: audit row {r} is not an accepted event's"));
        Assert.All(written.Where(r => r.Table == "LedgerTable"), r => Assert.True(emailKeys.ContainsValue(r.PartitionKey), $"{where}: ledger row {r} is not an accepted event's address"));

        // Every link this request left owing a write, by an event it accepted, has a push message; every message names a
        // link of its event's address (a later event of the same batch may have asked that link again since).
        var owed = written.Where(r => r.Table == "LedgerTable" && r.RowKey.StartsWith(RecordLinkEntity.RowKeyPrefix, StringComparison.Ordinal))
            .Select(r => after.Rows[r])
            .Where(l => l.GetString("Status") == nameof(LinkStatus.Pending) && answer.Accepted.Contains(l.GetString("RequestedByEventId")))
            .Select(l => (l.PartitionKey, SalesforceId: l.GetString("SalesforceId")));
        var pushed = diff.PushMessages.Select(m => (PartitionKey: m.EmailKey, m.SalesforceId)).ToHashSet();
        Assert.All(owed, l => Assert.True(pushed.Contains(l), $"{where}: link {l} owes a write and has no push message"));
        Assert.All(diff.PushMessages, m => Assert.True(
            answer.Accepted.Contains(m.EventId) && emailKeys[m.EventId] == m.EmailKey
                && after.Row("LedgerTable", m.EmailKey, RecordLinkEntity.RowKeyFor(m.SalesforceId)) is not null,
            $"{where}: push message for {m.EventId} to {m.SalesforceId} is not an accepted event's link"));

        foreach (var (_, id, _) in answer.Rejected)
        {
            if (id is not null && !answer.Accepted.Contains(id) && !answer.Duplicates.Contains(id))
            {
                Assert.False(written.Contains(new RowId("IntakeTable", IntakeRecords.KeyOf(id), IntakeRecordEntity.RowKeyValue)), $"{where}: rejected {id} got an intake record");
            }
        }
    }

    private static string Clip(string text) => text.Length > 600 ? text[..600] + "..." : text;

    private static JsonArray Array(JsonNode? node, string where) =>
        node as JsonArray ?? throw new Xunit.Sdk.XunitException($"{where}: not an array: {node?.ToJsonString()}");

    private static List<JsonObject> Objects(JsonNode? node, string where) =>
        Array(node, where).Select(n => n as JsonObject ?? throw new Xunit.Sdk.XunitException($"{where}: not an object: {n?.ToJsonString()}")).ToList();

    private static List<string> Strings(JsonNode? node, string where) => Array(node, where).Select(n => Text(n, where)).ToList();

    private static string Text(JsonNode? node, string where) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new Xunit.Sdk.XunitException($"{where}: not a string: {node?.ToJsonString()}");

    private static int Index(JsonNode? entry, string where) =>
        entry?["index"] is JsonValue value && value.TryGetValue<int>(out var index) && index >= 0 ? index : throw new Xunit.Sdk.XunitException($"{where}: no index in {entry?.ToJsonString()}");

    // A problem or a rejection names at least one field, each with at least one message.
    private static List<string> ErrorFields(JsonNode? errors, string where)
    {
        var map = errors as JsonObject ?? throw new Xunit.Sdk.XunitException($"{where}: no errors map");
        Assert.True(map.Count > 0, $"{where}: an empty errors map");
        Assert.All(map, e => Assert.True(e.Value is JsonArray { Count: > 0 } messages && messages.All(m => !string.IsNullOrWhiteSpace(Text(m, where))), $"{where}: field {e.Key} without a message"));
        return map.Select(e => e.Key).ToList();
    }
}
