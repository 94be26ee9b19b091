using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>Holds fault rules and injected latency; consumes a rule's count each time it fires.</summary>
public sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private readonly List<FaultRule> _rules = [];

    public int LatencyMs { get; set; }

    public void Add(IEnumerable<FaultRule> rules)
    {
        lock (_gate)
        {
            _rules.AddRange(rules);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            LatencyMs = 0;
        }
    }

    /// <summary>A fault for the whole call (rules without a record Id, or a record-specific rule for that record).</summary>
    public SalesforceError? TakeForCall(ApiKind kind, string? recordId = null) =>
        Take(rule => rule.Matches(kind) && (rule.RecordId is null || (recordId is not null && SameId(rule.RecordId, recordId))));

    /// <summary>A fault aimed at one record inside a collections call.</summary>
    public SalesforceError? TakeForRecord(ApiKind kind, string recordId) =>
        Take(rule => rule.RecordId is not null && rule.Matches(kind) && SameId(rule.RecordId, recordId));

    private SalesforceError? Take(Func<FaultRule, bool> predicate)
    {
        lock (_gate)
        {
            var rule = _rules.FirstOrDefault(r => r.Count is null or > 0 && predicate(r));
            if (rule is null)
            {
                return null;
            }

            if (rule.Count is { } remaining)
            {
                rule.Count = remaining - 1;
            }

            return rule.ToError();
        }
    }

    private static bool SameId(string ruleId, string recordId) =>
        SandboxIds.TryNormalize(ruleId, out var normalized) && normalized == recordId;
}
