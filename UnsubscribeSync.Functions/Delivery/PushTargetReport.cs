using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Delivery;

/// <summary>
/// Says once at start-up which Salesforce field opt-outs go to and why, so an administrator who switched the nightly
/// sync off sees that <c>Sync:TargetField</c> no longer applies, before the first unsubscribe lands in Email Opt Out.
/// </summary>
public sealed partial class PushTargetReport(IOptions<SyncOptions> options, ILogger<PushTargetReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var sync = options.Value;
        var field = Describe(sync.EffectiveTargetField, sync.MarketoSalesOptOutField);
        if (sync.EffectiveTargetField != sync.TargetField)
        {
            Log.TargetOverridden(logger, field, sync.TargetField);
        }
        else
        {
            Log.Target(logger, field, sync.NightlyEnabled);
        }

        if (sync.PersonAccounts == PersonAccountMode.Off)
        {
            Log.PersonAccountsOff(logger);
        }
        else
        {
            Log.PersonAccounts(logger, sync.PersonAccounts, PersonAccountField(sync.EffectiveTargetField, sync.MarketoSalesOptOutField));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The field as an administrator knows it, with its API name when that is known before any describe.</summary>
    public static string Describe(OptOutTargetField target, string? customField) => target switch
    {
        OptOutTargetField.EmailOptOut => $"Email Opt Out ({OptOutFieldResolver.EmailOptOutField})",
        _ when !string.IsNullOrWhiteSpace(customField) => $"Marketo Sales Opt Out ({customField.Trim()})",
        _ => "Marketo Sales Opt Out (API name discovered by label on first use)",
    };

    /// <summary>The field's Person Account form on Account, as an administrator knows it.</summary>
    public static string PersonAccountField(OptOutTargetField target, string? customField) => target switch
    {
        OptOutTargetField.EmailOptOut => $"Email Opt Out ({OptOutFieldResolver.PersonEmailOptOutField})",
        _ when !string.IsNullOrWhiteSpace(customField) => $"Marketo Sales Opt Out ({SalesforceObjectTypes.PersonAccountField(customField.Trim())})",
        _ => "Marketo Sales Opt Out (the __pc form of the field found on Contact)",
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 410, Level = LogLevel.Information,
            Message = "Push writes opt-outs to {Field} on Contact and Lead (Sync:NightlyEnabled={NightlyEnabled}, Sync:TargetField as set)")]
        public static partial void Target(ILogger logger, string field, bool nightlyEnabled);

        [LoggerMessage(EventId = 411, Level = LogLevel.Warning,
            Message = "Push writes opt-outs to {Field} on Contact and Lead: the nightly sync is off (Sync:NightlyEnabled=false), "
                + "and Sync:TargetField={TargetField} applies only while it is on")]
        public static partial void TargetOverridden(ILogger logger, string field, OptOutTargetField targetField);

        [LoggerMessage(EventId = 412, Level = LogLevel.Information,
            Message = "Person Accounts (Sync:PersonAccounts={Mode}): where the describe of Account shows PersonEmail and IsPersonAccount, "
                + "opt-outs on Account (001) Ids go to {Field}; the first field check says whether the org has them")]
        public static partial void PersonAccounts(ILogger logger, PersonAccountMode mode, string field);

        [LoggerMessage(EventId = 413, Level = LogLevel.Warning,
            Message = "Person Accounts are switched off (Sync:PersonAccounts=Off): Account is never read or written, and events naming an Account (001) Id are blocked")]
        public static partial void PersonAccountsOff(ILogger logger);
    }
}
