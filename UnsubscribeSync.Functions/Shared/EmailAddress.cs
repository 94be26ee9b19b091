using System.Diagnostics.CodeAnalysis;
using System.Net.Mail;

namespace UnsubscribeSync.Functions.Shared;

/// <summary>
/// A normalized email address: the unit of consent. Its <see cref="Key"/> (SHA-256 of the
/// normalized address, hex) keys the ledger, because table keys cannot hold every character an
/// address may contain; <see cref="LogId"/> is the short form safe to write to logs.
/// </summary>
public sealed record EmailAddress
{
    public const int MaxLength = 254;

    private EmailAddress(string value)
    {
        Value = value;
        Key = KeyOf(value);
    }

    /// <summary>The trimmed, lower-cased address.</summary>
    public string Value { get; }

    /// <summary>The ledger key: lower-case hex SHA-256 of <see cref="Value"/>.</summary>
    public string Key { get; }

    /// <summary>The first 12 characters of the key: enough to correlate, not enough to be PII.</summary>
    public string LogId => Key[..12];

    public override string ToString() => LogId;

    /// <summary>Normalizes and validates an address, saying why when it is not valid.</summary>
    public static bool TryCreate(string? raw, [NotNullWhen(true)] out EmailAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        var value = raw?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(value))
        {
            error = "is required";
            return false;
        }

        if (value.Length > MaxLength)
        {
            error = $"must be at most {MaxLength} characters";
            return false;
        }

        if (!IsValid(value))
        {
            error = "must be a valid email address";
            return false;
        }

        address = new EmailAddress(value);
        error = null;
        return true;
    }

    /// <summary>Creates an address that is already known to be normalized and valid (from our own storage).</summary>
    public static EmailAddress FromNormalized(string value)
    {
        return TryCreate(value, out var address, out var error)
            ? address
            : throw new FormatException($"Stored email address is not valid: {error}.");
    }

    /// <summary>The ledger key of a normalized address.</summary>
    public static string KeyOf(string normalized) => StableKey.Of(normalized);

    private static bool IsValid(string value)
    {
        var at = value.LastIndexOf('@');
        if (at <= 0 || at > 64 || at == value.Length - 1 || value.IndexOf('@') != at)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        // A deliverable address has a dotted domain of letters, digits and hyphens.
        var domain = value.AsSpan(at + 1);
        if (domain.IndexOf('.') <= 0 || domain.EndsWith(".") || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var label in domain.ToString().Split('.'))
        {
            if (label.Length is 0 or > 63 || label.StartsWith('-') || label.EndsWith('-'))
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return MailAddress.TryCreate(value, out var parsed)
            && parsed.Address == value
            && parsed.DisplayName.Length == 0;
    }
}
