using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Salesforce;

/// <summary>The client over real HTTP against the Salesforce sandbox: sign-in, resilience, usage, collections, paging, describe.</summary>
public sealed class SalesforceClientSandboxTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, object?> OptOut => new() { ["HasOptedOutOfEmail"] = true };

    public async ValueTask InitializeAsync()
    {
        await sandbox.Control.ResetAsync(Ct);
        await sandbox.Control.ClearFaultsAsync(Ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed record ContactRow(string Id, string? Email, bool IsDeleted, string? MasterRecordId);

    #region Sign-in

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpdateRecordAsync_EitherFlow_SignsInAndWritesTheField(bool jwt)
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("flow@example.com")], Ct))[0];
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox, jwt));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(SalesforceId.Parse(id), OptOut, Ct);

        // Assert
        var record = await sandbox.Control.GetRecordAsync(id, Ct);
        Assert.True(record["HasOptedOutOfEmail"]!.GetValue<bool>());
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(1, stats.Token);
        Assert.Equal(1, stats.Sobject);
    }

    [Fact]
    public async Task UpdateRecordAsync_JwtWithWrongUser_NamesUsernameSetting()
    {
        // Arrange
        var settings = SalesforceTestHost.SandboxSettings(sandbox, jwt: true);
        settings["Salesforce:Username"] = "someone-else@sandbox.example";
        using var services = SalesforceTestHost.Build(null, settings);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(SalesforceId.Parse("003RO0000035WQg"), OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
        Assert.Equal("Salesforce:Username", ex.Setting);
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Token);
    }

    [Fact]
    public async Task UpdateRecordAsync_WrongClientSecret_NamesClientSecretSetting()
    {
        // Arrange
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Salesforce:ClientSecret"] = "wrong";
        using var services = SalesforceTestHost.Build(null, settings);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(SalesforceId.Parse("003RO0000035WQg"), OptOut, Ct));

        // Assert
        Assert.Equal("Salesforce:ClientSecret", ex.Setting);
        Assert.StartsWith("Salesforce:ClientSecret was rejected by the token endpoint (invalid_client", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateRecordAsync_TokensExpireBetweenCalls_RefreshesOnceAndReplays()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("expiry1@example.com"), SandboxRecord.Contact("expiry2@example.com")], Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        await client.UpdateRecordAsync(SalesforceId.Parse(ids[0]), OptOut, Ct);
        await sandbox.Control.ExpireAllTokensAsync(Ct);

        // Act
        await client.UpdateRecordAsync(SalesforceId.Parse(ids[1]), OptOut, Ct);

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(2, stats.Token);
        Assert.Equal(3, stats.Sobject);
    }

    [Fact]
    public async Task UpdateRecordAsync_ConcurrentCallsAfterExpiry_ShareOneRefresh()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 8).Select(i => SandboxRecord.Contact($"burst{i}@example.com")), Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        await client.DescribeAsync("Contact", Ct);
        await sandbox.Control.ExpireAllTokensAsync(Ct);

        // Act
        await Task.WhenAll(ids.Select(id => client.UpdateRecordAsync(SalesforceId.Parse(id), OptOut, Ct)));

        // Assert
        Assert.Equal(2, (await sandbox.Control.GetStatsAsync(Ct)).Token);
    }

    #endregion

    #region Resilience

    [Fact]
    public async Task UpdateRecordAsync_TwoServerUnavailable_RetriesThenSucceeds()
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("retry@example.com")], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 503, "SERVER_UNAVAILABLE", "server too busy", Count: 2));
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(SalesforceId.Parse(id), OptOut, Ct);

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(3, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task UpdateRecordAsync_UnableToLockRowAs500_Retried()
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("lock@example.com")], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 500, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: " + id, Count: 1));
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        await client.UpdateRecordAsync(SalesforceId.Parse(id), OptOut, Ct);

        // Assert
        Assert.Equal(2, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task UpdateRecordAsync_PersistentFault_OpensTheCircuit()
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("breaker@example.com")], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 503, "SERVER_UNAVAILABLE", "server too busy"));
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Salesforce:MaxRetryAttempts"] = "1";
        settings["Salesforce:CircuitBreakerMinimumThroughput"] = "4";
        using var services = SalesforceTestHost.Build(null, settings);
        var client = services.GetRequiredService<ISalesforceClient>();
        var recordId = SalesforceId.Parse(id);
        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(recordId, OptOut, Ct));
        }

        var attemptsBeforeOpen = (await sandbox.Control.GetStatsAsync(Ct)).Sobject;

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(recordId, OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, ex.Kind);
        Assert.IsType<Polly.CircuitBreaker.BrokenCircuitException>(ex.InnerException, exactMatch: false);
        Assert.Equal(4, attemptsBeforeOpen);
        Assert.Equal(attemptsBeforeOpen, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    #endregion

    #region Limits

    [Fact]
    public async Task AnyCall_RealResponses_UpdateApiUsageFromHeader()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 100 }, Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        var usage = services.GetRequiredService<ISalesforceApiUsage>();

        // Act
        await client.DescribeAsync("Contact", Ct);
        var afterDescribe = usage.Latest;
        var limits = await client.GetLimitsAsync(Ct);

        // Assert
        Assert.Equal(101, afterDescribe!.Used);
        Assert.Equal(1000, afterDescribe.Limit);
        Assert.Equal(102, usage.Latest!.Used);
        Assert.Equal(0.102, usage.Fraction!.Value, 3);
        Assert.Equal(1000, limits.DailyApiRequests!.Max);
    }

    [Fact]
    public async Task UpdateRecordAsync_DailyAllocationUsedUp_ThrowsLimitExceededWithoutRetry()
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("limit@example.com")], Ct))[0];
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 1000 }, Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(SalesforceId.Parse(id), OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.LimitExceeded, ex.Kind);
        Assert.Equal("REQUEST_LIMIT_EXCEEDED", ex.ErrorCode);
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
        Assert.Equal(1.0, services.GetRequiredService<ISalesforceApiUsage>().Fraction);
        Assert.False((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
    }

    #endregion

    #region Collections, query

    [Fact]
    public async Task UpdateRecordsAsync_ConvertedLeadAndContact_MapsPartialFailure()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("converted@example.com"), SandboxRecord.Contact("converted@example.com"), SandboxRecord.Contact("fine@example.com")], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        var lead = SalesforceId.Parse(ids[0]);
        var contact = SalesforceId.Parse(ids[2]);

        // Act
        var results = await client.UpdateRecordsAsync([new(lead, OptOut), new(contact, OptOut)], Ct);

        // Assert
        Assert.Equal([lead, contact], results.Select(r => r.Id));
        Assert.False(results[0].Success);
        Assert.Equal("CANNOT_UPDATE_CONVERTED_LEAD", results[0].ErrorCode);
        Assert.Equal(SalesforceErrorKind.NeedsRedirect, results[0].Kind);
        Assert.True(results[1].Success);
        Assert.True((await sandbox.Control.GetRecordAsync(ids[2], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Composite);
    }

    [Fact]
    public async Task UpdateRecordAsync_ConvertedLead_ThrowsNeedsRedirect()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("conv2@example.com"), SandboxRecord.Contact("conv2@example.com")], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => client.UpdateRecordAsync(SalesforceId.Parse(ids[0]), OptOut, Ct));

        // Assert
        Assert.Equal(SalesforceErrorKind.NeedsRedirect, ex.Kind);
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task QueryAsync_2500RecordsWithBatchSize2000_ReadsTwoPages()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 2500).Select(i => SandboxRecord.Contact($"page{i:D4}@example.com")), Ct);
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Salesforce:QueryBatchSize"] = "2000";
        using var services = SalesforceTestHost.Build(null, settings);
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var rows = await client.QueryAsync<ContactRow>("SELECT Id, Email, IsDeleted, MasterRecordId FROM Contact WHERE Email LIKE 'page%'", Ct).ToListAsync(Ct);

        // Assert
        Assert.Equal(2500, rows.Count);
        Assert.Equal(2500, rows.Select(r => r.Id).Distinct().Count());
        Assert.All(rows, r => Assert.True(SalesforceId.TryParse(r.Id, out _, out _)));
        Assert.Equal(2, (await sandbox.Control.GetStatsAsync(Ct)).Query);
    }

    [Fact]
    public async Task QueryAllAsync_MergedAwayContact_SeenWithMasterRecordId()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("survivor@example.com"), SandboxRecord.Contact("merged@example.com")], Ct);
        await sandbox.Control.MergeAsync(ids[0], [ids[1]], Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        var soql = $"SELECT Id, Email, IsDeleted, MasterRecordId FROM Contact WHERE Id IN {Soql.InList([SalesforceId.Parse(ids[0]), SalesforceId.Parse(ids[1])])}";

        // Act
        var live = await client.QueryAsync<ContactRow>(soql, Ct).ToListAsync(Ct);
        var all = await client.QueryAllAsync<ContactRow>(soql, Ct).ToListAsync(Ct);

        // Assert
        Assert.Equal([ids[0]], live.Select(r => r.Id));
        var merged = Assert.Single(all, r => r.Id == ids[1]);
        Assert.True(merged.IsDeleted);
        Assert.Equal(ids[0], merged.MasterRecordId);
    }

    [Fact]
    public async Task QueryAsync_EmailWithApostrophe_EscapedLiteralMatches()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("o'brien@example.com"), SandboxRecord.Contact("obrien@example.com")], Ct);
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();

        // Act
        var rows = await client.QueryAsync<JsonElement>($"SELECT Id, Email FROM Contact WHERE Email = {Soql.Quote("o'brien@example.com")}", Ct).ToListAsync(Ct);

        // Assert
        Assert.Equal("o'brien@example.com", Assert.Single(rows).GetProperty("Email").GetString());
    }

    #endregion

    #region Field discovery

    [Fact]
    public async Task ResolveAsync_CustomFieldOnBoth_DiscoveredByLabel()
    {
        // Arrange
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Sync:TargetField"] = "MarketoSalesOptOut";
        using var services = SalesforceTestHost.Build(null, settings);
        var resolver = services.GetRequiredService<IOptOutFieldResolver>();

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable, string.Join("; ", resolution.Problems));
        Assert.Equal(sandbox.CustomOptOutField, resolution.FieldName);
        Assert.Equal(3, (await sandbox.Control.GetStatsAsync(Ct)).Describe);
    }

    [Fact]
    public async Task ResolveAsync_CustomFieldMissingOnLead_ReportsLead()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false }, Ct);
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Sync:TargetField"] = "MarketoSalesOptOut";
        using var services = SalesforceTestHost.Build(null, settings);
        var resolver = services.GetRequiredService<IOptOutFieldResolver>();

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.Contact.IsUsable);
        Assert.False(resolution.Lead.Exists);
        Assert.Equal("field Marketo Sales Opt Out not found on Lead: install the package or set Sync__MarketoSalesOptOutField", Assert.Single(resolution.Problems));
    }

    [Fact]
    public async Task ResolveAsync_ConfiguredFieldNotUpdateableOnContact_ReportsFieldLevelSecurity()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        var settings = SalesforceTestHost.SandboxSettings(sandbox);
        settings["Sync:TargetField"] = "MarketoSalesOptOut";
        settings["Sync:MarketoSalesOptOutField"] = sandbox.CustomOptOutField;
        using var services = SalesforceTestHost.Build(null, settings);
        var resolver = services.GetRequiredService<IOptOutFieldResolver>();

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.Contact.Exists);
        Assert.False(resolution.Contact.IsUpdateable);
        Assert.Contains("read-only for the integration user", resolution.Contact.Problem, StringComparison.Ordinal);
        Assert.True(resolution.Lead.IsUsable);
    }

    [Fact]
    public async Task DescribeIfModifiedAsync_UnchangedThenFieldChanged_Answers304ThenTheNewDescribe()
    {
        // Arrange
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var client = services.GetRequiredService<ISalesforceClient>();
        var first = await client.DescribeAsync("Contact", Ct);

        // Act
        var unchanged = await client.DescribeIfModifiedAsync("Contact", first.ValidAsOf!.Value, Ct);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        var changed = await client.DescribeIfModifiedAsync("Contact", first.ValidAsOf.Value, Ct);
        var leadUnchanged = await client.DescribeIfModifiedAsync("Lead", first.ValidAsOf.Value, Ct);

        // Assert: a 304 is no describe but still a call; only Contact's metadata moved.
        Assert.Null(unchanged);
        Assert.NotNull(changed);
        Assert.False(changed.FindField(sandbox.CustomOptOutField)!.Updateable);
        Assert.True(changed.ValidAsOf > first.ValidAsOf);
        Assert.Null(leadUnchanged);
        Assert.Equal(4, (await sandbox.Control.GetStatsAsync(Ct)).Describe);
    }

    [Fact]
    public async Task ResolveAsync_EmailOptOutTarget_UsesStandardField()
    {
        // Arrange
        using var services = SalesforceTestHost.Build(null, SalesforceTestHost.SandboxSettings(sandbox));
        var resolver = services.GetRequiredService<IOptOutFieldResolver>();

        // Act
        var resolution = await resolver.ResolveAsync(Ct);
        await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable);
        Assert.Equal("HasOptedOutOfEmail", resolution.FieldName);
        Assert.Equal(3, (await sandbox.Control.GetStatsAsync(Ct)).Describe);
    }

    #endregion
}
