using System.Globalization;
using Azure.Identity;
using Azure.Storage.Blobs;
using UnsubscribeSync.Functions.Ledger;

// Verifies one day's audit chain (docs/audit-chain.md) and prints the first break.
// Exit code: 0 intact, 1 broken, 2 bad arguments or storage unreachable.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i]] = args[i + 1];
}

if (args.Length % 2 != 0 || options.Keys.Any(k => k is not ("--day" or "--account" or "--blob-endpoint" or "--connection-string" or "--container")))
{
    Console.Error.WriteLine("usage: UnsubscribeSync.AuditVerify (--account <storage account> | --blob-endpoint <url> | --connection-string <cs>) [--day yyyy-MM-dd] [--container audit-chain]");
    Console.Error.WriteLine("       without --connection-string, signs in with DefaultAzureCredential (az login); AUDIT_VERIFY_CONNECTION_STRING also works.");
    return 2;
}

var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
if (options.TryGetValue("--day", out var dayText) && !DateOnly.TryParseExact(dayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
{
    Console.Error.WriteLine($"--day: '{dayText}' is not a date of the form yyyy-MM-dd.");
    return 2;
}

var containerName = options.GetValueOrDefault("--container", "audit-chain");
var connectionString = options.GetValueOrDefault("--connection-string") ?? Environment.GetEnvironmentVariable("AUDIT_VERIFY_CONNECTION_STRING");
BlobServiceClient service;
if (!string.IsNullOrEmpty(connectionString))
{
    service = new BlobServiceClient(connectionString);
}
else if (options.TryGetValue("--blob-endpoint", out var endpoint) || options.TryGetValue("--account", out _))
{
    var uri = endpoint ?? $"https://{options["--account"]}.blob.core.windows.net";
    service = new BlobServiceClient(new Uri(uri), new DefaultAzureCredential());
}
else
{
    Console.Error.WriteLine("Name the storage: --account, --blob-endpoint or --connection-string.");
    return 2;
}

try
{
    var verifier = new AuditChainVerifier(new AuditChainStorage(service.GetBlobContainerClient(containerName)));
    var result = await verifier.VerifyAsync(day, CancellationToken.None);
    if (result.Break is { } broken)
    {
        Console.WriteLine($"audit chain {AuditChainFormat.DayName(day)}: BROKEN after {result.Lines} good lines");
        Console.WriteLine($"  first break: {broken.Blob} line {broken.Line} (line {broken.Sequence} of the day)");
        Console.WriteLine($"  {broken.Reason}");
        if (broken.Expected is not null)
        {
            Console.WriteLine($"  expected: {broken.Expected}");
            Console.WriteLine($"  actual:   {broken.Actual}");
        }

        return 1;
    }

    Console.WriteLine($"audit chain {AuditChainFormat.DayName(day)}: intact, {result.Lines} lines in {result.Blobs} blobs, last line SHA-256 {result.LastHash}");
    return 0;
}
catch (Exception ex) when (ex is Azure.RequestFailedException or AuthenticationFailedException or HttpRequestException)
{
    Console.Error.WriteLine($"audit chain {AuditChainFormat.DayName(day)}: could not be read: {ex.Message}");
    return 2;
}
