using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Salesforce;

public class OptOutFieldResolverTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly FieldDescription EmailOptOut = new("HasOptedOutOfEmail", "Email Opt Out", "boolean", true, false);

    [Fact]
    public async Task ResolveAsync_EmailOptOutTarget_UsesHasOptedOutOfEmail()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.EmailOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable);
        Assert.Equal("HasOptedOutOfEmail", resolution.FieldName);
        Assert.Equal(new OptOutFieldStatus(SalesforceObjectType.Lead, "HasOptedOutOfEmail", true, true, true, null), resolution.Lead);
        Assert.Empty(resolution.Problems);
    }

    [Fact]
    public async Task ResolveAsync_DiscoveryByLabel_FindsCustomCheckboxOnBoth()
    {
        // Arrange
        var field = new FieldDescription("MSC__Marketo_Sales_Opt_Out__c", "Marketo Sales Opt Out", "boolean", true, true);
        var decoy = new FieldDescription("Marketo_Sales_Opt_Out_Text__c", "Marketo Sales Opt Out", "string", true, true);
        var client = Describing(contact: [EmailOptOut, decoy, field], lead: [EmailOptOut, field]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable);
        Assert.Equal("MSC__Marketo_Sales_Opt_Out__c", resolution.FieldName);
        Assert.Equal("MSC__Marketo_Sales_Opt_Out__c", resolution.For(SalesforceObjectType.Contact).FieldName);
    }

    [Fact]
    public async Task ResolveAsync_DiscoveryByOlderLabel_FindsMseOptOut()
    {
        // Arrange
        var field = new FieldDescription("ToutApp__MSE_Opt_Out__c", "MSE - Opt Out", "boolean", true, true);
        var client = Describing(contact: [field], lead: [field]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.Equal("ToutApp__MSE_Opt_Out__c", resolution.FieldName);
    }

    [Fact]
    public async Task ResolveAsync_DiscoveryMissingOnLead_ReportsActionableProblem()
    {
        // Arrange
        var field = new FieldDescription("MSC__Marketo_Sales_Opt_Out__c", "Marketo Sales Opt Out", "boolean", true, true);
        var client = Describing(contact: [field], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.False(resolution.IsUsable);
        Assert.True(resolution.Contact.IsUsable);
        Assert.False(resolution.Lead.Exists);
        Assert.Equal("field Marketo Sales Opt Out not found on Lead: install the package or set Sync__MarketoSalesOptOutField", Assert.Single(resolution.Problems));
    }

    [Fact]
    public async Task ResolveAsync_ConfiguredFieldNotUpdateable_ReportsFieldLevelSecurity()
    {
        // Arrange
        var writable = new FieldDescription("Custom_Opt_Out__c", "Sales Opt Out", "boolean", true, true);
        var readOnly = writable with { Updateable = false };
        var client = Describing(contact: [writable], lead: [readOnly]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut, MarketoSalesOptOutField = "Custom_Opt_Out__c" });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.Equal(new OptOutFieldStatus(SalesforceObjectType.Lead, "Custom_Opt_Out__c", true, true, false, resolution.Lead.Problem), resolution.Lead);
        Assert.Contains("read-only for the integration user", resolution.Lead.Problem, StringComparison.Ordinal);
        Assert.Contains("Lead.Custom_Opt_Out__c", resolution.Lead.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_ConfiguredFieldNotBoolean_ReportsType()
    {
        // Arrange
        var text = new FieldDescription("Custom_Opt_Out__c", "Sales Opt Out", "string", true, true);
        var client = Describing(contact: [text], lead: [text]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut, MarketoSalesOptOutField = "Custom_Opt_Out__c" });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.False(resolution.Contact.IsBoolean);
        Assert.Contains("is of type string, not a checkbox", resolution.Contact.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_ConfiguredFieldMissing_NamesTheSetting()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut, MarketoSalesOptOutField = "Typo__c" });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.Equal(2, resolution.Problems.Count);
        Assert.All(resolution.Problems, p => Assert.Contains("Sync__MarketoSalesOptOutField", p, StringComparison.Ordinal));
        Assert.StartsWith("field Typo__c not found on Contact", resolution.Contact.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_WithinLifetime_UsesCache()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions(), time);
        await resolver.ResolveAsync(Ct);
        time.Advance(TimeSpan.FromMinutes(14));

        // Act
        await resolver.ResolveAsync(Ct);

        // Assert
        await client.Received(1).DescribeAsync("Contact", Arg.Any<CancellationToken>());
        await client.Received(1).DescribeAsync("Lead", Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task ResolveAsync_AfterLifetime_DescribesAgain()
    {
        // Arrange
        var time = new FakeTimeProvider();
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions(), time);
        await resolver.ResolveAsync(Ct);
        time.Advance(TimeSpan.FromMinutes(16));

        // Act
        await resolver.ResolveAsync(Ct);

        // Assert
        await client.Received(2).DescribeAsync("Contact", Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Invalidate_AfterFieldError_DescribesAgain()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions());
        await resolver.ResolveAsync(Ct);

        // Act
        resolver.Invalidate();
        await resolver.ResolveAsync(Ct);

        // Assert
        await client.Received(2).DescribeAsync("Lead", Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task ResolveAsync_DescribeFails_ThrowsAndDoesNotCache()
    {
        // Arrange
        var client = Substitute.For<ISalesforceClient>();
        client.DescribeAsync(Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(Task.FromException<SObjectDescription>(new SalesforceApiException("down", SalesforceErrorKind.Transient)));
        var resolver = CreateResolver(client, new SyncOptions());
        await Assert.ThrowsAsync<SalesforceApiException>(() => resolver.ResolveAsync(Ct));
        client.DescribeAsync("Contact", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Contact", "Contact", [EmailOptOut]));
        client.DescribeAsync("Lead", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Lead", "Lead", [EmailOptOut]));
        client.DescribeAsync("Account", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Account", "Account", []));

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable);
    }

    private static readonly FieldDescription[] PersonFields =
    [
        new("IsPersonAccount", "Is Person Account", "boolean", false, false),
        new("PersonEmail", "Email", "email", true, false),
        new("PersonHasOptedOutOfEmail", "Email Opt Out", "boolean", true, false),
    ];

    private static readonly FieldDescription Custom = new("MSC__Marketo_Sales_Opt_Out__c", "Marketo Sales Opt Out", "boolean", true, true);

    private static readonly FieldDescription CustomOnAccount = new("MSC__Marketo_Sales_Opt_Out__pc", "Marketo Sales Opt Out", "boolean", true, true);

    [Fact]
    public async Task ResolveAsync_PersonAccountsAndEmailOptOut_WritesPersonHasOptedOutOfEmailOnAccount()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut], account: PersonFields);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.EmailOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable, string.Join("; ", resolution.Problems));
        Assert.True(resolution.HasPersonAccounts);
        Assert.Equal(new OptOutFieldStatus(SalesforceObjectType.PersonAccount, "PersonHasOptedOutOfEmail", true, true, true, null), resolution.For(SalesforceObjectType.PersonAccount));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("MSC__Marketo_Sales_Opt_Out__c")]
    public async Task ResolveAsync_PersonAccountsAndMarketoSalesOptOut_WritesThePcFormOnAccount(string? configured)
    {
        // Arrange: the Account also carries a business-level field with the same label, which is not the person's.
        var companyDecoy = new FieldDescription("Company_Opt_Out__c", "Marketo Sales Opt Out", "boolean", true, true);
        var client = Describing(contact: [EmailOptOut, Custom], lead: [EmailOptOut, Custom], account: [.. PersonFields, companyDecoy, CustomOnAccount]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut, MarketoSalesOptOutField = configured });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable, string.Join("; ", resolution.Problems));
        Assert.Equal("MSC__Marketo_Sales_Opt_Out__pc", resolution.For(SalesforceObjectType.PersonAccount).FieldName);
        Assert.Equal("MSC__Marketo_Sales_Opt_Out__c", resolution.For(SalesforceObjectType.Contact).FieldName);
    }

    [Fact]
    public async Task ResolveAsync_PersonAccountFieldReadOnly_ReportsItOnAccount()
    {
        // Arrange
        var readOnly = CustomOnAccount with { Updateable = false };
        var client = Describing(contact: [Custom], lead: [Custom], account: [.. PersonFields, readOnly]);
        var resolver = CreateResolver(client, new SyncOptions { TargetField = OptOutTargetField.MarketoSalesOptOut });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.Contact.IsUsable);
        Assert.False(resolution.IsUsable);
        Assert.Equal(
            "field MSC__Marketo_Sales_Opt_Out__pc on Account (Person Account) is read-only for the integration user: grant Edit access to Account.MSC__Marketo_Sales_Opt_Out__pc in its permission set (field-level security)",
            Assert.Single(resolution.Problems));
    }

    [Fact]
    public async Task ResolveAsync_OrgWithoutPersonAccounts_IsUsableAndBlocksAccountIdsWithTheReason()
    {
        // Arrange: Account's describe shows no PersonEmail or IsPersonAccount.
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions());

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert: not a problem with Contact and Lead, but an Account Id has nothing to be written to.
        Assert.True(resolution.IsUsable);
        Assert.False(resolution.HasPersonAccounts);
        var account = resolution.For(SalesforceObjectType.PersonAccount);
        Assert.False(account.IsUsable);
        Assert.Contains("the org has no Person Accounts (the describe of Account shows no PersonEmail or IsPersonAccount field)", account.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_PersonAccountsOnButAbsent_ReportsAProblem()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        var resolver = CreateResolver(client, new SyncOptions { PersonAccounts = PersonAccountMode.On });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.False(resolution.IsUsable);
        Assert.StartsWith("Sync__PersonAccounts is On but the org has no Person Accounts", Assert.Single(resolution.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_PersonAccountsOff_NeverDescribesAccount()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut], account: PersonFields);
        var resolver = CreateResolver(client, new SyncOptions { PersonAccounts = PersonAccountMode.Off });

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.False(resolution.HasPersonAccounts);
        Assert.Contains("Sync__PersonAccounts=Off", resolution.For(SalesforceObjectType.PersonAccount).Problem, StringComparison.Ordinal);
        await client.DidNotReceive().DescribeAsync("Account", Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task ResolveAsync_AccountHiddenFromTheUser_TreatsItAsNoPersonAccounts()
    {
        // Arrange
        var client = Describing(contact: [EmailOptOut], lead: [EmailOptOut]);
        client.DescribeAsync("Account", Arg.Any<CancellationToken>())
            .Returns(Task.FromException<SObjectDescription>(new SalesforceApiException("not found", SalesforceErrorKind.Permanent, System.Net.HttpStatusCode.NotFound, [new SalesforceError("NOT_FOUND", "The requested resource does not exist", [])])));
        var resolver = CreateResolver(client, new SyncOptions());

        // Act
        var resolution = await resolver.ResolveAsync(Ct);

        // Assert
        Assert.True(resolution.IsUsable);
        Assert.Contains("Account cannot be described for the integration user (NOT_FOUND)", resolution.For(SalesforceObjectType.PersonAccount).Problem, StringComparison.Ordinal);
    }

    private static ISalesforceClient Describing(IReadOnlyList<FieldDescription> contact, IReadOnlyList<FieldDescription> lead, IReadOnlyList<FieldDescription>? account = null)
    {
        var client = Substitute.For<ISalesforceClient>();
        client.DescribeAsync("Contact", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Contact", "Contact", contact));
        client.DescribeAsync("Lead", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Lead", "Lead", lead));

        // Without person fields given, Account is described as in an org without Person Accounts.
        client.DescribeAsync("Account", Arg.Any<CancellationToken>()).Returns(new SObjectDescription("Account", "Account", account ?? [new FieldDescription("Name", "Account Name", "string", true, false)]));
        return client;
    }

    private static OptOutFieldResolver CreateResolver(ISalesforceClient client, SyncOptions sync, TimeProvider? time = null)
    {
        return new OptOutFieldResolver(
            client,
            new NoFieldCheckStore(),
            Options.Create(new OptOutFieldOptions { Target = sync.TargetField, MarketoSalesOptOutField = sync.MarketoSalesOptOutField, PersonAccounts = sync.PersonAccounts }),
            Options.Create(new SalesforceOptions { FieldCacheLifetime = TimeSpan.FromMinutes(15) }),
            time ?? new FakeTimeProvider(),
            NullLogger<OptOutFieldResolver>.Instance);
    }
}
