namespace AuditGateway.ControlPlane.Sources;

/// <summary>A manifest that cannot be read; the message names the file and, for YAML, the line.</summary>
internal sealed class ManifestException(string message) : Exception(message);
