using System.Security.Cryptography;
using System.Text;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Which certificate each TLS host gets: the hosts an Ingress lists under <c>spec.tls</c> are bound to
/// its secret, the oldest Ingress first. A missing or unusable secret leaves its hosts on the default
/// certificate, with a warning on the Ingress.
/// </summary>
internal static class TlsBindings
{
    /// <summary>
    /// Reads the candidate's <c>spec.tls</c>: per entry its hosts and either its binding material or the
    /// warning saying why it has none.
    /// </summary>
    public static List<TlsEntry> Read(IngressCandidate candidate, ObjectIndex index)
    {
        var result = new List<TlsEntry>();
        var entries = candidate.Ingress.Spec!.Tls ?? [];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var hosts = (entry.Hosts ?? []).Select(h => h.ToLowerInvariant()).ToList();
            if (string.IsNullOrEmpty(entry.SecretName))
            {
                result.Add(new TlsEntry(hosts, null, $"spec.tls[{i}].secretName: not set; these hosts get the default certificate"));
                continue;
            }

            var secretName = $"{candidate.Key.Namespace}/{entry.SecretName}";
            if (!index.Secrets.TryGetValue((candidate.Key.Namespace, entry.SecretName), out var secret))
            {
                result.Add(new TlsEntry(hosts, null, $"spec.tls[{i}].secretName: secret {secretName} not found; these hosts get the default certificate"));
                continue;
            }

            if (!TryReadTlsSecret(secret, out var certificate, out var key, out var problem))
            {
                result.Add(new TlsEntry(hosts, null, $"spec.tls[{i}].secretName: secret {secretName} {problem}; these hosts get the default certificate"));
                continue;
            }

            var material = new TlsBinding
            {
                Host = "",
                Secret = secretName,
                ContentHash = Hash(certificate + "\n" + key),
                CertificatePem = certificate,
                KeyPem = key,
            };
            result.Add(new TlsEntry(hosts, material, null));
        }

        return result;
    }

    /// <summary>Whether one of <paramref name="tlsHosts"/> is <paramref name="host"/>, or a <c>*.</c> wildcard one label above it.</summary>
    public static bool Covers(IEnumerable<string> tlsHosts, string host)
    {
        foreach (var tlsHost in tlsHosts)
        {
            if (tlsHost == host)
            {
                return true;
            }

            if (tlsHost.StartsWith("*.", StringComparison.Ordinal))
            {
                var dot = host.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && host.AsSpan(dot + 1).SequenceEqual(tlsHost.AsSpan(2)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool TryReadTlsSecret(Secret secret, out string certificate, out string key, out string problem)
    {
        certificate = key = problem = "";
        if (secret.Type != Secret.TlsType)
        {
            problem = $"has type '{secret.Type}', not {Secret.TlsType}";
            return false;
        }

        if (!TryGetData(secret, "tls.crt", out certificate) || !TryGetData(secret, "tls.key", out key))
        {
            problem = "lacks tls.crt or tls.key (or they are not base64)";
            return false;
        }

        return true;
    }

    private static bool TryGetData(Secret secret, string name, out string value)
    {
        value = "";
        if (secret.StringData?.TryGetValue(name, out var plain) == true)
        {
            value = plain;
            return true;
        }

        if (secret.Data?.TryGetValue(name, out var encoded) != true)
        {
            return false;
        }

        var buffer = new byte[encoded!.Length];
        if (!Convert.TryFromBase64String(encoded, buffer, out var written))
        {
            return false;
        }

        value = Encoding.UTF8.GetString(buffer, 0, written);
        return true;
    }

    /// <summary>SHA-256 of the certificate and key PEM, so a rotation changes the table's revision.</summary>
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>One <c>spec.tls</c> entry: its hosts (lower case), and its secret's material (with an empty host) or why there is none.</summary>
internal sealed record TlsEntry(List<string> Hosts, TlsBinding? Material, string? Warning);
