namespace AuditGateway.Policy.Identity;

/// <summary>
/// A problem in the <c>identity:</c> or <c>admin:</c> configuration. The message starts with the
/// key it is about, e.g. <c>identity.jwt.issuers[0].audiences: required</c>.
/// </summary>
internal sealed class IdentityConfigException(string message) : Exception(message);
