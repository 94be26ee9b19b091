using System.Globalization;
using System.Net;
using System.Text;

namespace UnsubscribeSync.Functions.Status;

/// <summary>
/// Renders the status as one self-contained HTML page: styles inline, charts as inline SVG, no script and nothing
/// fetched, so it works behind any proxy and under a strict Content-Security-Policy.
/// </summary>
public static class StatusPage
{
    private const int ChartWidth = 720;
    private const int ChartHeight = 180;

    private static readonly (string Name, string Color)[] RunSeries =
        [("read", "#4e79a7"), ("written", "#59a14f"), ("failed", "#e15759"), ("deferred", "#f28e2b")];

    public static string Render(StatusReport report)
    {
        var html = new StringBuilder(16_384);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>UnsubscribeSync status</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;max-width:900px}
            h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
            .muted{color:#59636e;font-size:.9em} table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
            .badge{display:inline-block;min-width:3.2em;text-align:center;border-radius:4px;padding:2px 6px;font-weight:600;font-size:.85em;color:#fff}
            .pass{background:#1a7f37} .warn{background:#9a6700} .fail{background:#cf222e}
            .num{font-variant-numeric:tabular-nums;text-align:right} .legend span{margin-right:14px} .sw{display:inline-block;width:10px;height:10px;margin-right:4px}
            </style></head><body>
            """);
        html.Append("<h1>UnsubscribeSync status <span class=\"badge ").Append(Css(report.Overall)).Append("\" data-testid=\"overall\">")
            .Append(Label(report.Overall)).Append("</span></h1>");
        html.Append("<p class=\"muted\">Generated ").Append(Time(report.GeneratedAt)).Append(" UTC. Counts from the ledger census ")
            .Append(report.Ledger?.CountedAt is { } counted ? "completed " + Time(counted) + " UTC" : "(no count yet)").Append(".</p>");

        AppendChecks(html, report);
        AppendLedger(html, report);
        AppendQueues(html, report);
        AppendRuns(html, report);
        AppendUsage(html, report);
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void AppendChecks(StringBuilder html, StatusReport report)
    {
        html.Append("<h2>Requirement checks</h2><table data-testid=\"checks\">");
        foreach (var check in report.Checks)
        {
            html.Append("<tr data-check=\"").Append(E(check.Name)).Append("\"><td><span class=\"badge ").Append(Css(check.Status)).Append("\">")
                .Append(Label(check.Status)).Append("</span></td><th>").Append(E(check.Title)).Append("</th><td>").Append(E(check.Message)).Append("</td></tr>");
        }

        html.Append("</table>");
    }

    private static void AppendLedger(StringBuilder html, StatusReport report)
    {
        html.Append("<h2>Salesforce records linked to opt-outs</h2>");
        if (report.Ledger is not { } ledger)
        {
            html.Append("<p>Not counted yet: the ledger census has not finished a count.</p>");
            return;
        }

        var links = ledger.Links;
        (string Name, long Count, string Color)[] parts =
        [
            ("Synced", links.Synced, "#59a14f"), ("Pending", links.Pending, "#4e79a7"), ("Deferred", links.Deferred, "#f28e2b"),
            ("Failed", links.Failed, "#e15759"), ("Blocked", links.Blocked, "#b07aa1"), ("Dead", links.Dead, "#9c755f"),
            ("Not required", links.NotRequired, "#bab0ac"),
        ];
        AppendStackedBar(html, parts);
        html.Append("<table data-testid=\"links\">");
        foreach (var (name, count, _) in parts)
        {
            html.Append("<tr><th>").Append(name).Append("</th><td class=\"num\">").Append(N(count)).Append("</td></tr>");
        }

        foreach (var (code, count) in links.FailedByCode.OrderByDescending(p => p.Value))
        {
            html.Append("<tr><td>Failed: ").Append(E(code)).Append("</td><td class=\"num\">").Append(N(count)).Append("</td></tr>");
        }

        foreach (var (problem, count) in links.BlockedByProblem.OrderByDescending(p => p.Value))
        {
            html.Append("<tr><td>Blocked: ").Append(E(problem)).Append("</td><td class=\"num\">").Append(N(count)).Append("</td></tr>");
        }

        html.Append("<tr><th>Addresses</th><td class=\"num\">").Append(N(ledger.Addresses)).Append("</td></tr>")
            .Append("<tr><th>Awaiting a Salesforce Id</th><td class=\"num\">").Append(N(ledger.AwaitingSalesforceId)).Append(" (")
            .Append((ledger.AwaitingSalesforceIdShare * 100).ToString("0.0", CultureInfo.InvariantCulture)).Append("%)</td></tr></table>");

        html.Append("<h2>Oldest owed write</h2>");
        if (ledger.OldestOwedAgeHours is { } hours)
        {
            // Against a day: the nightly sync should have written anything older.
            var width = (int)Math.Round(Math.Min(hours / 48.0, 1.0) * ChartWidth);
            var color = hours > 24 ? "#cf222e" : hours > 2 ? "#9a6700" : "#1a7f37";
            html.Append("<p data-testid=\"oldest-owed\">").Append(hours.ToString("0.0", CultureInfo.InvariantCulture)).Append(" hours (owed since ")
                .Append(Time(ledger.OldestOwedSince!.Value)).Append(" UTC)</p>")
                .Append(CultureInfo.InvariantCulture, $"<svg role=\"img\" aria-label=\"oldest owed write\" width=\"{ChartWidth}\" height=\"34\" viewBox=\"0 0 {ChartWidth} 34\">")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"4\" width=\"{ChartWidth}\" height=\"16\" fill=\"#eaeef2\"/><rect x=\"0\" y=\"4\" width=\"{width}\" height=\"16\" fill=\"{color}\"/>")
                .Append(CultureInfo.InvariantCulture, $"<line x1=\"{ChartWidth / 2}\" y1=\"0\" x2=\"{ChartWidth / 2}\" y2=\"24\" stroke=\"#1f2328\"/><text x=\"{ChartWidth / 2 + 4}\" y=\"32\" font-size=\"10\">24 h</text><text x=\"{ChartWidth - 30}\" y=\"32\" font-size=\"10\">48 h+</text></svg>");
        }
        else
        {
            html.Append("<p data-testid=\"oldest-owed\">Nothing is owed: Salesforce holds every opt-out.</p>");
        }

        html.Append("<h2>Writes per day, by outcome</h2><p class=\"muted\">From the links' present state: confirmed in Salesforce on that day, or whose last attempt that day left them failed, deferred or blocked.</p>");
        var days = LastDays(report.GeneratedAt, 30);
        AppendBars(html, "writes per day", days,
            [("confirmed", "#59a14f", days.Select(d => (double)ledger.SyncedPerDay.GetValueOrDefault(d)).ToArray()),
             ("not written", "#e15759", days.Select(d => (double)ledger.NotSyncedPerDay.GetValueOrDefault(d)).ToArray())]);
    }

    private static void AppendQueues(StringBuilder html, StatusReport report)
    {
        html.Append("<h2>Queues</h2>");
        if (report.Queues is not { } q)
        {
            html.Append("<p>Not read: storage does not answer.</p>");
            return;
        }

        html.Append("<table data-testid=\"queues\"><tr><th>Push</th><td class=\"num\">").Append(N(q.Push)).Append("</td><th>Push poison</th><td class=\"num\">").Append(N(q.PushPoison))
            .Append("</td></tr><tr><th>Sync batches</th><td class=\"num\">").Append(N(q.SyncBatches)).Append("</td><th>Sync batches poison</th><td class=\"num\">")
            .Append(N(q.SyncBatchesPoison)).Append("</td></tr></table>");
    }

    private static void AppendRuns(StringBuilder html, StatusReport report)
    {
        var nightly = report.Nightly;
        html.Append("<h2>Nightly runs, last 30 days</h2><p class=\"muted\">")
            .Append(nightly.Enabled ? "Switched on, schedule " + E(nightly.Schedule ?? "unknown") + " (UTC)." : "Switched off.").Append("</p>");
        var days = LastDays(report.GeneratedAt, 30);
        var byDay = nightly.Runs.Where(r => r.Mode != "intakes").GroupBy(r => LedgerCounts.DayKey(r.StartedAt)).ToDictionary(g => g.Key, g => g.ToList());
        double[] Series(Func<SyncRunView, int> pick) => days.Select(d => byDay.TryGetValue(d, out var runs) ? runs.Sum(pick) : 0.0).ToArray();
        AppendBars(html, "nightly runs", days,
            [(RunSeries[0].Name, RunSeries[0].Color, Series(r => r.RecordsRead)), (RunSeries[1].Name, RunSeries[1].Color, Series(r => r.Written)),
             (RunSeries[2].Name, RunSeries[2].Color, Series(r => r.Failed)), (RunSeries[3].Name, RunSeries[3].Color, Series(r => r.Deferred))]);

        html.Append("<table data-testid=\"runs\"><tr><th>Started (UTC)</th><th>Mode</th><th>Phase</th><th class=\"num\">Read</th><th class=\"num\">Written</th><th class=\"num\">Failed</th><th class=\"num\">Deferred</th><th class=\"num\">API calls</th></tr>");
        foreach (var run in nightly.Runs.Take(10))
        {
            html.Append("<tr><td>").Append(Time(run.StartedAt)).Append("</td><td>").Append(E(run.Mode)).Append("</td><td>").Append(E(run.Phase))
                .Append(run.BudgetStopped ? " (budget stop)" : string.Empty).Append("</td><td class=\"num\">").Append(N(run.RecordsRead))
                .Append("</td><td class=\"num\">").Append(N(run.Written)).Append("</td><td class=\"num\">").Append(N(run.Failed))
                .Append("</td><td class=\"num\">").Append(N(run.Deferred)).Append("</td><td class=\"num\">").Append(N(run.ApiCalls)).Append("</td></tr>");
        }

        if (nightly.Runs.Count == 0)
        {
            html.Append("<tr><td colspan=\"8\">No run in the last 30 days.</td></tr>");
        }

        html.Append("</table>");
    }

    private static void AppendUsage(StringBuilder html, StatusReport report)
    {
        var usage = report.ApiUsage;
        html.Append("<h2>Salesforce API usage</h2><p data-testid=\"api-usage\">");
        html.Append(usage.Percent is { } percent
            ? $"{N(usage.Used ?? 0)} of {N(usage.Limit ?? 0)} daily calls ({percent.ToString("0.0", CultureInfo.InvariantCulture)}%), seen {Time(usage.ObservedAt!.Value)} UTC by this instance"
            : "No Salesforce response seen by this instance yet");
        html.Append("; budget ").Append(usage.BudgetPercent.ToString(CultureInfo.InvariantCulture)).Append("% (Sync__ApiBudgetPercent)")
            .Append(usage.BudgetReached ? ": reached, the sync defers non-urgent work." : ".").Append("</p>");
    }

    private static void AppendStackedBar(StringBuilder html, (string Name, long Count, string Color)[] parts)
    {
        var total = parts.Sum(p => p.Count);
        html.Append(CultureInfo.InvariantCulture, $"<svg role=\"img\" aria-label=\"links by status\" width=\"{ChartWidth}\" height=\"24\" viewBox=\"0 0 {ChartWidth} 24\"><rect width=\"{ChartWidth}\" height=\"24\" fill=\"#eaeef2\"/>");
        double x = 0;
        foreach (var (name, count, color) in parts)
        {
            if (total == 0 || count == 0)
            {
                continue;
            }

            var w = (double)count / total * ChartWidth;
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.##}\" width=\"{w:0.##}\" height=\"24\" fill=\"{color}\"><title>{name}: {count}</title></rect>");
            x += w;
        }

        html.Append("</svg><div class=\"legend muted\">");
        foreach (var (name, _, color) in parts)
        {
            html.Append("<span><i class=\"sw\" style=\"background:").Append(color).Append("\"></i>").Append(name).Append("</span>");
        }

        html.Append("</div>");
    }

    /// <summary>Grouped bars per day, one colour per series, scaled to the largest value.</summary>
    private static void AppendBars(StringBuilder html, string label, IReadOnlyList<string> days, (string Name, string Color, double[] Values)[] series)
    {
        const int left = 40;
        const int bottom = 20;
        var max = Math.Max(1, series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max());
        var slot = (double)(ChartWidth - left) / days.Count;
        var bar = Math.Max(1, (slot - 2) / series.Length);
        var plot = ChartHeight - bottom;
        html.Append(CultureInfo.InvariantCulture, $"<svg role=\"img\" aria-label=\"{E(label)}\" data-testid=\"{E(label.Replace(' ', '-'))}\" width=\"{ChartWidth}\" height=\"{ChartHeight}\" viewBox=\"0 0 {ChartWidth} {ChartHeight}\">")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{plot}\" x2=\"{ChartWidth}\" y2=\"{plot}\" stroke=\"#8c959f\"/>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"10\" font-size=\"10\">{N((long)max)}</text><text x=\"0\" y=\"{plot}\" font-size=\"10\">0</text>");
        for (var d = 0; d < days.Count; d++)
        {
            for (var s = 0; s < series.Length; s++)
            {
                var value = series[s].Values[d];
                if (value <= 0)
                {
                    continue;
                }

                var h = value / max * (plot - 4);
                var x = left + (d * slot) + 1 + (s * bar);
                html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.##}\" y=\"{plot - h:0.##}\" width=\"{bar:0.##}\" height=\"{h:0.##}\" fill=\"{series[s].Color}\"><title>{days[d]} {series[s].Name}: {value}</title></rect>");
            }

            if (d % 5 == 0)
            {
                html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + (d * slot):0.##}\" y=\"{ChartHeight - 4}\" font-size=\"10\">{days[d][5..]}</text>");
            }
        }

        html.Append("</svg><div class=\"legend muted\">");
        foreach (var (name, color, _) in series)
        {
            html.Append("<span><i class=\"sw\" style=\"background:").Append(color).Append("\"></i>").Append(name).Append("</span>");
        }

        html.Append("</div>");
    }

    private static List<string> LastDays(DateTimeOffset now, int count) =>
        Enumerable.Range(0, count).Select(i => LedgerCounts.DayKey(now.AddDays(i - count + 1))).ToList();

    private static string E(string value) => WebUtility.HtmlEncode(value);

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static string Css(CheckStatus status) => status switch { CheckStatus.Pass => "pass", CheckStatus.Warn => "warn", _ => "fail" };

    private static string Label(CheckStatus status) => status switch { CheckStatus.Pass => "PASS", CheckStatus.Warn => "WARN", _ => "FAIL" };
}
