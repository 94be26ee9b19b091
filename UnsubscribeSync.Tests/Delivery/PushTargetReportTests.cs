using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Delivery;

public class PushTargetReportTests
{
    [Theory]
    [InlineData(true, OptOutTargetField.EmailOptOut, OptOutTargetField.EmailOptOut)]
    [InlineData(true, OptOutTargetField.MarketoSalesOptOut, OptOutTargetField.MarketoSalesOptOut)]
    [InlineData(false, OptOutTargetField.EmailOptOut, OptOutTargetField.EmailOptOut)]
    [InlineData(false, OptOutTargetField.MarketoSalesOptOut, OptOutTargetField.EmailOptOut)]
    public void EffectiveTargetField_NightlySwitchAndChoice_FollowsTheSeedsRule(bool nightly, OptOutTargetField chosen, OptOutTargetField expected)
    {
        // Act
        var effective = new SyncOptions { NightlyEnabled = nightly, TargetField = chosen }.EffectiveTargetField;

        // Assert
        Assert.Equal(expected, effective);
    }

    [Theory]
    [InlineData("true", "EmailOptOut", null, LogLevel.Information, "Email Opt Out (HasOptedOutOfEmail)")]
    [InlineData("true", "MarketoSalesOptOut", "Acme__MSO__c", LogLevel.Information, "Marketo Sales Opt Out (Acme__MSO__c)")]
    [InlineData("true", "MarketoSalesOptOut", null, LogLevel.Information, "Marketo Sales Opt Out (API name discovered by label on first use)")]
    [InlineData("false", "EmailOptOut", null, LogLevel.Information, "Email Opt Out (HasOptedOutOfEmail)")]
    [InlineData("false", "MarketoSalesOptOut", "Acme__MSO__c", LogLevel.Warning, "Email Opt Out (HasOptedOutOfEmail)")]
    public async Task StartAsync_Settings_LogsTheEffectiveFieldOnce(string nightly, string target, string? custom, LogLevel level, string field)
    {
        // Arrange: the report as the app registers it, with the settings an administrator would set.
        await using var storage = new TestStorage();
        var logger = new FakeLogger<PushTargetReport>();
        await using var services = AppServices.Build(
            storage,
            sandbox: null,
            new Dictionary<string, string?> { ["Sync:NightlyEnabled"] = nightly, ["Sync:TargetField"] = target, ["Sync:MarketoSalesOptOutField"] = custom },
            s => s.AddSingleton<ILogger<PushTargetReport>>(logger));
        var report = services.GetServices<IHostedService>().OfType<PushTargetReport>().Single();

        // Act
        await report.StartAsync(TestContext.Current.CancellationToken);

        // Assert
        // The push target's own line (410 or 411); the person-account line beside it has its own test.
        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id is 410 or 411);
        Assert.Equal(level, record.Level);
        Assert.Equal(field, record.StructuredState!.Single(p => p.Key == "Field").Value);
        Assert.StartsWith($"Push writes opt-outs to {field} on Contact and Lead", record.Message, StringComparison.Ordinal);
        if (level == LogLevel.Warning)
        {
            Assert.Contains("Sync:TargetField=MarketoSalesOptOut applies only while it is on", record.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task EffectiveTargetField_NightlyOff_IsWhatTheFieldCheckLooksFor()
    {
        // Arrange
        await using var storage = new TestStorage();
        await using var services = AppServices.Build(storage, sandbox: null, new Dictionary<string, string?>
        {
            ["Sync:NightlyEnabled"] = "false",
            ["Sync:TargetField"] = "MarketoSalesOptOut",
        });

        // Act
        var fields = services.GetRequiredService<IOptions<OptOutFieldOptions>>().Value;

        // Assert
        Assert.Equal(OptOutTargetField.EmailOptOut, fields.Target);
    }

    [Theory]
    [InlineData("true", "MarketoSalesOptOut", "Acme__MSO__c", "Auto", 412, "Marketo Sales Opt Out (Acme__MSO__pc)")]
    [InlineData("false", "MarketoSalesOptOut", "Acme__MSO__c", "Auto", 412, "Email Opt Out (PersonHasOptedOutOfEmail)")]
    [InlineData("true", "EmailOptOut", null, "Off", 413, null)]
    public async Task StartAsync_PersonAccountSetting_LogsWhereAccountOptOutsGo(string nightly, string target, string? custom, string mode, int eventId, string? field)
    {
        // Arrange
        await using var storage = new TestStorage();
        var logger = new FakeLogger<PushTargetReport>();
        await using var services = AppServices.Build(
            storage,
            sandbox: null,
            new Dictionary<string, string?> { ["Sync:NightlyEnabled"] = nightly, ["Sync:TargetField"] = target, ["Sync:MarketoSalesOptOutField"] = custom, ["Sync:PersonAccounts"] = mode },
            s => s.AddSingleton<ILogger<PushTargetReport>>(logger));
        var report = services.GetServices<IHostedService>().OfType<PushTargetReport>().Single();

        // Act
        await report.StartAsync(TestContext.Current.CancellationToken);

        // Assert
        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id is 412 or 413);
        Assert.Equal(eventId, record.Id.Id);
        if (field is not null)
        {
            Assert.Equal(field, record.StructuredState!.Single(p => p.Key == "Field").Value);
        }
    }
}
