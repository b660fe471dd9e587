namespace AuditGateway.Configuration;

/// <summary>A bad option value; the message names the option, the value and what is expected.</summary>
internal sealed class OptionException(string message) : Exception(message);
