using System.Diagnostics.CodeAnalysis;

namespace UnsubscribeSync.Functions.Shared;

/// <summary>The Salesforce object types we write opt-outs to, told apart by their Id prefix.</summary>
public enum SalesforceObjectType
{
    Contact,
    Lead,

    /// <summary>A Person Account: an Account (prefix 001) that holds a person, in orgs that have them.</summary>
    PersonAccount,
}

/// <summary>How each object type is named and read in Salesforce.</summary>
public static class SalesforceObjectTypes
{
    /// <summary>The API name of the type's sObject (a Person Account is an <c>Account</c>).</summary>
    public static string SObjectName(this SalesforceObjectType type) => type switch
    {
        SalesforceObjectType.Contact => "Contact",
        SalesforceObjectType.Lead => "Lead",
        _ => "Account",
    };

    /// <summary>The field that holds the person's email address (<c>PersonEmail</c> on a Person Account).</summary>
    public static string EmailField(this SalesforceObjectType type) => type == SalesforceObjectType.PersonAccount ? "PersonEmail" : "Email";

    /// <summary>
    /// The condition that keeps a query to records we can write: a converted lead cannot be edited (its person lives on
    /// as the converted contact), and only an Account that is a Person Account holds a person; null when there is none.
    /// </summary>
    public static string? QueryCondition(this SalesforceObjectType type) => type switch
    {
        SalesforceObjectType.Lead => "IsConverted = false",
        SalesforceObjectType.PersonAccount => "IsPersonAccount = true",
        _ => null,
    };

    /// <summary>
    /// The Person Account form of a Contact field: Salesforce exposes a Contact custom field <c>Xyz__c</c> on Account
    /// as <c>Xyz__pc</c>, and a standard one (<c>HasOptedOutOfEmail</c>) as <c>PersonHasOptedOutOfEmail</c>.
    /// </summary>
    public static string PersonAccountField(string contactField) =>
        contactField.EndsWith("__c", StringComparison.OrdinalIgnoreCase)
            ? string.Concat(contactField.AsSpan(0, contactField.Length - 3), "__pc")
            : "Person" + contactField;
}

/// <summary>
/// A Contact, Lead or Person Account Id in its 18-character, case-insensitive form. Callers may give the
/// 15-character, case-sensitive form; the checksum suffix is computed for it, and verified when
/// an 18-character Id is given.
/// </summary>
public readonly record struct SalesforceId
{
    private const string ChecksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

    private SalesforceId(string value, SalesforceObjectType objectType)
    {
        Value = value;
        ObjectType = objectType;
    }

    /// <summary>The 18-character Id.</summary>
    public string Value { get; }

    /// <summary>Contact (prefix 003), Lead (prefix 00Q) or Person Account (prefix 001).</summary>
    public SalesforceObjectType ObjectType { get; }

    /// <summary>The API name of the record's sObject type.</summary>
    public string SObjectName => ObjectType.SObjectName();

    public override string ToString() => Value ?? string.Empty;

    /// <summary>Parses a 15- or 18-character Contact, Lead or Person Account Id.</summary>
    /// <exception cref="FormatException">The Id is malformed, has a wrong checksum, or is not a Contact, Lead or Account.</exception>
    public static SalesforceId Parse(string? value)
    {
        return TryParse(value, out var id, out var error) ? id : throw new FormatException(error);
    }

    /// <summary>
    /// Parses a 15- or 18-character Contact, Lead or Person Account Id, saying why when it cannot. An Account Id
    /// (001) is taken as a Person Account: whether it is one is known only to the org, which says so when written.
    /// </summary>
    public static bool TryParse(string? value, out SalesforceId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "must be a 15- or 18-character Salesforce Id";
            return false;
        }

        if (value.Length is not (15 or 18))
        {
            error = "must be a 15- or 18-character Salesforce Id";
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                error = "must contain only letters and digits";
                return false;
            }
        }

        var fifteen = value.AsSpan(0, 15);
        var suffix = ComputeSuffix(fifteen);
        if (value.Length == 18 && !value.AsSpan(15).Equals(suffix, StringComparison.OrdinalIgnoreCase))
        {
            // An 18-character Id is case-insensitive: the suffix records the case of the first 15
            // characters. When they arrive in one case (lower-cased by a spreadsheet or an email tool),
            // the suffix restores it; it is wrong if it marks a digit as upper case.
            var given = value.AsSpan(15).ToString().ToUpperInvariant();
            if (HasMixedCaseLetters(fifteen) || given.Any(c => !ChecksumAlphabet.Contains(c, StringComparison.Ordinal)))
            {
                error = "has an incorrect checksum (the last 3 characters do not match the first 15)";
                return false;
            }

            fifteen = RestoreCase(fifteen, given);
            suffix = ComputeSuffix(fifteen);
            if (!string.Equals(suffix, given, StringComparison.Ordinal))
            {
                error = "has an incorrect checksum (the last 3 characters do not match the first 15)";
                return false;
            }
        }

        SalesforceObjectType type;
        if (fifteen.StartsWith("003", StringComparison.Ordinal))
        {
            type = SalesforceObjectType.Contact;
        }
        else if (fifteen.StartsWith("00Q", StringComparison.Ordinal))
        {
            type = SalesforceObjectType.Lead;
        }
        else if (fifteen.StartsWith("001", StringComparison.Ordinal))
        {
            type = SalesforceObjectType.PersonAccount;
        }
        else
        {
            error = "must be a Contact (003), Lead (00Q) or Person Account (001) Id";
            return false;
        }

        id = new SalesforceId(string.Concat(fifteen, suffix), type);
        error = null;
        return true;
    }

    /// <summary>Computes the 3-character checksum suffix of a 15-character Id.</summary>
    public static string ComputeSuffix(ReadOnlySpan<char> fifteen)
    {
        if (fifteen.Length != 15)
        {
            throw new ArgumentException("A Salesforce Id checksum is computed over exactly 15 characters.", nameof(fifteen));
        }

        Span<char> suffix = stackalloc char[3];
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var bits = 0;
            for (var i = 0; i < 5; i++)
            {
                if (char.IsAsciiLetterUpper(fifteen[(chunk * 5) + i]))
                {
                    bits |= 1 << i;
                }
            }

            suffix[chunk] = ChecksumAlphabet[bits];
        }

        return new string(suffix);
    }

    private static bool HasMixedCaseLetters(ReadOnlySpan<char> chars)
    {
        bool upper = false, lower = false;
        foreach (var c in chars)
        {
            upper |= char.IsAsciiLetterUpper(c);
            lower |= char.IsAsciiLetterLower(c);
        }

        return upper && lower;
    }

    private static string RestoreCase(ReadOnlySpan<char> fifteen, string suffix)
    {
        Span<char> chars = stackalloc char[15];
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var bits = ChecksumAlphabet.IndexOf(suffix[chunk], StringComparison.Ordinal);
            for (var i = 0; i < 5; i++)
            {
                var c = fifteen[(chunk * 5) + i];
                chars[(chunk * 5) + i] = (bits & (1 << i)) != 0 ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c);
            }
        }

        return new string(chars);
    }
}
