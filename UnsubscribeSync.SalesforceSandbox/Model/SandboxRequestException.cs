namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>A control-API request the sandbox cannot carry out; answered with 400 and the message.</summary>
public sealed class SandboxRequestException(string message) : Exception(message);
