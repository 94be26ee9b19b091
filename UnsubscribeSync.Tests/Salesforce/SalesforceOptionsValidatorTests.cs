using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceOptionsValidatorTests
{
    private static SalesforceOptions ClientCredentials() => new()
    {
        LoginUrl = "https://acme.my.salesforce.com",
        ClientId = "client-id",
        ClientSecret = "secret",
    };

    private static IReadOnlyList<string> Failures(SalesforceOptions options) =>
        new SalesforceOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Validate_ClientCredentials_Succeeds()
    {
        // Arrange
        var options = ClientCredentials();

        // Act
        var result = new SalesforceOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Succeeded);
    }

    [Fact]
    public void Validate_JwtBearerWithPemKey_Succeeds()
    {
        // Arrange
        using var rsa = RSA.Create(2048);
        var options = new SalesforceOptions
        {
            LoginUrl = "https://acme.my.salesforce.com",
            ClientId = "client-id",
            Username = "integration@acme.example",
            PrivateKey = rsa.ExportPkcs8PrivateKeyPem(),
        };

        // Act
        var result = new SalesforceOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(null, "Salesforce:LoginUrl is required")]
    [InlineData("acme.my.salesforce.com", "Salesforce:LoginUrl must be an https URL")]
    [InlineData("http://acme.my.salesforce.com", "Salesforce:LoginUrl must be an https URL")]
    [InlineData("ftp://acme.my.salesforce.com", "Salesforce:LoginUrl must be an https URL")]
    public void Validate_BadLoginUrl_NamesTheSetting(string? loginUrl, string expected)
    {
        // Arrange
        var options = ClientCredentials();
        options.LoginUrl = loginUrl;

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5123")]
    [InlineData("http://localhost:5123")]
    public void Validate_PlainHttpOnLoopback_Succeeds(string loginUrl)
    {
        // Arrange
        var options = ClientCredentials();
        options.LoginUrl = loginUrl;

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Empty(failures);
    }

    [Fact]
    public void Validate_MissingClientId_NamesTheSetting()
    {
        // Arrange
        var options = ClientCredentials();
        options.ClientId = " ";

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Salesforce:ClientId is required", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_NoFlow_NamesBothFlows()
    {
        // Arrange
        var options = ClientCredentials();
        options.ClientSecret = null;

        // Act
        var failures = Failures(options);

        // Assert
        var failure = Assert.Single(failures);
        Assert.Equal("Salesforce:ClientSecret (client-credentials flow) or Salesforce:Username and Salesforce:PrivateKey (JWT bearer flow) must be set.", failure);
    }

    [Fact]
    public void Validate_BothFlows_AsksForOne()
    {
        // Arrange
        var options = ClientCredentials();
        options.Username = "integration@acme.example";

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Configure one sign-in flow", StringComparison.Ordinal) && f.Contains("not both", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_UsernameWithoutKey_AsksForPrivateKey()
    {
        // Arrange
        var options = ClientCredentials();
        options.ClientSecret = null;
        options.Username = "integration@acme.example";

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Salesforce:PrivateKey is required with Salesforce:Username", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_KeyThatIsNotPem_NamesPrivateKey()
    {
        // Arrange
        var options = ClientCredentials();
        options.ClientSecret = null;
        options.Username = "integration@acme.example";
        options.PrivateKey = "not a key";

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Salesforce:PrivateKey is not a usable PEM RSA private key", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ClientSecret")]
    [InlineData("PrivateKey")]
    [InlineData("ClientId")]
    public void Validate_UnresolvedKeyVaultReference_NamesTheSetting(string setting)
    {
        // Arrange
        var options = ClientCredentials();
        const string reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/sf/)";
        switch (setting)
        {
            case "ClientSecret": options.ClientSecret = reference; break;
            case "PrivateKey": options.PrivateKey = reference; break;
            default: options.ClientId = reference; break;
        }

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith($"Salesforce:{setting} is an unresolved Key Vault reference", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("v66.0")]
    [InlineData("66")]
    [InlineData("41.0")]
    [InlineData("66.0.1")]
    public void Validate_BadApiVersion_NamesTheSetting(string version)
    {
        // Arrange
        var options = ClientCredentials();
        options.ApiVersion = version;

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Salesforce:ApiVersion must be", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_JwtAudienceNotHttps_NamesTheSetting()
    {
        // Arrange
        using var rsa = RSA.Create(2048);
        var options = ClientCredentials();
        options.ClientSecret = null;
        options.Username = "integration@acme.example";
        options.PrivateKey = rsa.ExportRSAPrivateKeyPem();
        options.JwtAudience = "login.salesforce.com";

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(failures, f => f.StartsWith("Salesforce:JwtAudience must be an https URL", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(nameof(SalesforceOptions.QueryBatchSize), "Salesforce:QueryBatchSize must be between 200 and 2000.")]
    [InlineData(nameof(SalesforceOptions.MaxRetryAttempts), "Salesforce:MaxRetryAttempts must be between 0 and 10.")]
    [InlineData(nameof(SalesforceOptions.CircuitBreakerBreakDuration), "Salesforce:CircuitBreakerBreakDuration must be at least 500 ms.")]
    [InlineData(nameof(SalesforceOptions.TokenRefreshInterval), "Salesforce:TokenRefreshInterval must be at least 60 s.")]
    public void Validate_OutOfRangeTuning_NamesTheSetting(string setting, string expected)
    {
        // Arrange
        var options = ClientCredentials();
        switch (setting)
        {
            case nameof(SalesforceOptions.QueryBatchSize): options.QueryBatchSize = 100; break;
            case nameof(SalesforceOptions.MaxRetryAttempts): options.MaxRetryAttempts = -1; break;
            case nameof(SalesforceOptions.CircuitBreakerBreakDuration): options.CircuitBreakerBreakDuration = TimeSpan.FromMilliseconds(10); break;
            default: options.TokenRefreshInterval = TimeSpan.FromSeconds(5); break;
        }

        // Act
        var failures = Failures(options);

        // Assert
        Assert.Contains(expected, failures);
    }

    [Fact]
    public async Task AddSalesforce_InvalidSettings_FailsWhenTheHostStarts()
    {
        // Arrange
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Salesforce:LoginUrl"] = "http://acme.my.salesforce.com" });
        builder.Services.AddSalesforce(builder.Configuration);
        using var host = builder.Build();

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        // Assert
        Assert.Contains(ex.Failures, f => f.StartsWith("Salesforce:LoginUrl must be an https URL", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Salesforce:ClientId is required", StringComparison.Ordinal));
    }
}
