using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Hosting;

namespace UnsubscribeSync.Tests.Hosting;

/// <summary>
/// Builds the real host exactly as Program.cs does (without running it: there is no Functions host
/// here) and checks that the DI graph resolves and that bad settings fail start-up by name.
/// </summary>
public class StartupValidationTests
{
    private static Dictionary<string, string?> GoodSettings() => new()
    {
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["PushQueueName"] = "unsubscribe-push",
        ["SyncBatchQueueName"] = "sync-batches",
        ["NightlySyncSchedule"] = "0 0 4 * * *",
        ["Salesforce:LoginUrl"] = "https://acme.my.salesforce.com",
        ["Salesforce:ClientId"] = "client-id",
        ["Salesforce:ClientSecret"] = "client-secret",
    };

    private static IHost BuildHost(IDictionary<string, string?> settings)
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.ConfigureFunctionsWebApplication();
        builder.AddUnsubscribeSync();
        return builder.Build();
    }

    private static void Validate(IHost host) => host.Services.GetRequiredService<IStartupValidator>().Validate();

    [Fact]
    public void Build_GoodSettings_ValidatesAndResolvesEveryFunction()
    {
        // Arrange
        using var host = BuildHost(GoodSettings());
        var functionTypes = typeof(ReceiveUnsubscribes).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))
            .ToList();

        // Act
        Validate(host);
        var functions = functionTypes.Select(t => ActivatorUtilities.CreateInstance(host.Services, t)).ToList();

        // Assert
        Assert.Contains(functionTypes, t => t == typeof(ReceiveUnsubscribes));
        Assert.Contains(functionTypes, t => t == typeof(PushToSalesforce));
        Assert.Contains(functionTypes, t => t == typeof(RecordPushFailure));
        Assert.All(functions, Assert.NotNull);
    }

    [Fact]
    public void Build_JwtFlowSettings_Validates()
    {
        // Arrange
        var settings = GoodSettings();
        settings.Remove("Salesforce:ClientSecret");
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        settings["Salesforce:Username"] = "integration@acme.example";
        settings["Salesforce:PrivateKey"] = rsa.ExportPkcs8PrivateKeyPem();
        using var host = BuildHost(settings);

        // Act + Assert
        Validate(host);
    }

    [Theory]
    [InlineData("Salesforce:LoginUrl", null, "Salesforce:LoginUrl")]
    [InlineData("Salesforce:LoginUrl", "http://acme.my.salesforce.com", "Salesforce:LoginUrl must be an https URL")]
    [InlineData("Salesforce:ClientId", null, "Salesforce:ClientId")]
    [InlineData("Salesforce:ClientSecret", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/sf/)", "Salesforce:ClientSecret")]
    [InlineData("Sync:ApiBudgetPercent", "0", "Sync:ApiBudgetPercent")]
    [InlineData("Sync:MaxDeferral", "00:10:00", "Sync:MaxDeferral")]
    [InlineData("Sync:MarketoSalesOptOutField", "Marketo Sales Opt Out", "Sync:MarketoSalesOptOutField")]
    [InlineData("Sync:BatchClaimLifetime", "00:00:10", "Sync:BatchClaimLifetime")]
    [InlineData("Webhook:SigningSecret", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/wh/)", "Webhook:SigningSecret")]
    [InlineData("Webhook:SenderTimeZone", "Central Time", "Webhook:SenderTimeZone is not a time zone this machine knows")]
    [InlineData("AzureWebJobsStorage", null, "AzureWebJobsStorage")]
    [InlineData("PushQueueName", "Bad_Queue", "PushQueueName")]
    [InlineData("NotifyQueueName", "Notify", "NotifyQueueName")]
    [InlineData("Consent:ApiKey", "too-short", "Consent:ApiKey must be at least 32 characters")]
    [InlineData("Consent:ApiKey", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/consent-api-key/)", "Consent:ApiKey is an unresolved Key Vault reference")]
    [InlineData("Consent:PreviousApiKey", "0123456789abcdef0123456789abcdef-old", "Consent:PreviousApiKey is set but Consent:ApiKey is not")]
    [InlineData("Notify:Url", "http://sender.example.com/hooks/consent", "Notify:Url must be an absolute https URL")]
    [InlineData("Notify:Url", "/hooks/consent", "Notify:Url must be an absolute https URL")]
    [InlineData("Retention:AuditDays", "30", "Retention:AuditDays must be 0 (keep for ever) or at least 365")]
    [InlineData("Retention:IntakeDays", "-1", "Retention:IntakeDays")]
    [InlineData("Retention:BatchRows", "10", "Retention:BatchRows")]
    [InlineData("Notify:Url", "https://sender.example.com/hooks/consent", "Notify:SigningSecret is required when Notify:Url is set")]
    public void Build_BadSetting_FailsStartupNamingIt(string key, string? value, string expected)
    {
        // Arrange
        var settings = GoodSettings();
        if (value is null)
        {
            settings.Remove(key);
        }
        else
        {
            settings[key] = value;
        }

        using var host = BuildHost(settings);

        // Act
        var error = Assert.ThrowsAny<Exception>(() => Validate(host));

        // Assert
        var message = error is OptionsValidationException ove ? string.Join(" | ", ove.Failures) : error.Message;
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Build_SenderTimeZoneAsIanaId_Validates()
    {
        // Arrange
        var settings = GoodSettings();
        settings["Webhook:SenderTimeZone"] = "America/Chicago";
        using var host = BuildHost(settings);

        // Act + Assert
        Validate(host);
    }

    [Fact]
    public void Build_CurrentAndPreviousSigningSecrets_Validates()
    {
        // Arrange
        var settings = GoodSettings();
        settings["Webhook:SigningSecret"] = "new-secret";
        settings["Webhook:PreviousSigningSecret"] = "old-secret";
        using var host = BuildHost(settings);

        // Act + Assert
        Validate(host);
    }

    [Theory]
    [InlineData("new-secret", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/wh-previous/)", "Webhook:PreviousSigningSecret is an unresolved Key Vault reference")]
    [InlineData(null, "old-secret", "Webhook:PreviousSigningSecret is set but Webhook:SigningSecret is not")]
    public void Build_BadPreviousSigningSecret_FailsStartupNamingIt(string? current, string previous, string expected)
    {
        // Arrange
        var settings = GoodSettings();
        settings["Webhook:SigningSecret"] = current;
        settings["Webhook:PreviousSigningSecret"] = previous;
        using var host = BuildHost(settings);

        // Act
        var error = Assert.ThrowsAny<Exception>(() => Validate(host));

        // Assert
        var message = error is OptionsValidationException ove ? string.Join(" | ", ove.Failures) : error.Message;
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Build_UnknownTargetField_FailsStartupNamingIt()
    {
        // Arrange
        var settings = GoodSettings();
        settings["Sync:TargetField"] = "Unsubscribed";
        using var host = BuildHost(settings);

        // Act
        var error = Assert.ThrowsAny<Exception>(() => Validate(host));

        // Assert
        Assert.Contains("Sync:TargetField", error.Message);
    }

    [Fact]
    public void Build_IdentityBasedStorage_Validates()
    {
        // Arrange
        var settings = GoodSettings();
        settings.Remove("AzureWebJobsStorage");
        settings["AzureWebJobsStorage:accountName"] = "stunsubscribesync";
        settings["AzureWebJobsStorage:credential"] = "managedidentity";
        settings["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001";
        using var host = BuildHost(settings);

        // Act
        Validate(host);
        var clients = host.Services.GetRequiredService<UnsubscribeSync.Functions.Storage.StorageClients>();

        // Assert
        Assert.Equal("https://stunsubscribesync.table.core.windows.net/", clients.Tables.Uri.ToString());
        Assert.Equal("https://stunsubscribesync.queue.core.windows.net/", clients.Queues.Uri.ToString());
    }

    [Fact]
    public void Build_ConsentKeyAndNotifications_Validates()
    {
        // Arrange
        var settings = GoodSettings();
        settings["Consent:ApiKey"] = "0123456789abcdef0123456789abcdef";
        settings["Notify:Url"] = "https://sender.example.com/hooks/consent";
        settings["Notify:SigningSecret"] = "notify-secret";
        using var host = BuildHost(settings);

        // Act + Assert
        Validate(host);
    }

    [Fact]
    public void Build_ConsentKeyEqualToWebhookSecret_FailsStartupNamingIt()
    {
        // Arrange: the consent API needs a key of its own, never the webhook's.
        var settings = GoodSettings();
        settings["Consent:ApiKey"] = "0123456789abcdef0123456789abcdef";
        settings["Webhook:SigningSecret"] = "0123456789abcdef0123456789abcdef";
        using var host = BuildHost(settings);

        // Act
        var error = Assert.ThrowsAny<Exception>(() => Validate(host));

        // Assert
        var message = error is OptionsValidationException ove ? string.Join(" | ", ove.Failures) : error.Message;
        Assert.Contains("Consent:ApiKey must not be the webhook's signing secret", message);
    }
}
