using System.Security.Cryptography;
using System.Text;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Turns Ingresses and the objects they refer to into a route table (PRODUCT.md §3).
/// A pure function: the same input gives the same table and revision.
/// </summary>
internal static class IngressTranslator
{
    private const string DefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class";
    private const string LegacyClassAnnotation = "kubernetes.io/ingress.class";

    public static TranslationResult Translate(TranslationInput input)
    {
        var index = new ObjectIndex(input.Objects);
        var reports = new List<IngressReport>();
        var accepted = new Dictionary<ObjectKey, Ingress>();
        var candidates = new List<Candidate>();

        foreach (var (key, ingress) in index.Ingresses)
        {
            if (!IsOurs(ingress, index.Classes, input.Classes))
            {
                continue;
            }

            var errors = new List<ValidationError>();
            var annotations = IngressValidator.Validate(ingress, errors);
            var name = $"{key.Namespace}/{key.Name}";
            if (errors.Count == 0)
            {
                accepted[key] = ingress;
                candidates.Add(new Candidate(key, ingress, annotations, []));
                continue;
            }

            if (input.LastAccepted.TryGetValue(key, out var previous))
            {
                accepted[key] = previous;
                var previousAnnotations = IngressValidator.Validate(previous, []);
                candidates.Add(new Candidate(key, previous, previousAnnotations, []) { Errors = errors, ServingPrevious = true });
            }
            else
            {
                reports.Add(new IngressReport { Ingress = name, Status = IngressOutcome.Refused, Errors = errors });
            }
        }

        candidates.Sort(static (a, b) => CompareAge(a, b));
        var routes = new List<IngressRoute>();
        var claimed = new Dictionary<(string Host, string Path, bool Exact), IngressRoute>();
        var tls = new Dictionary<string, TlsBinding>(StringComparer.Ordinal);
        IngressRoute? defaultBackend = null;

        foreach (var candidate in candidates)
        {
            var ingress = candidate.Ingress;
            var spec = ingress.Spec!;
            var tlsHosts = BindCertificates(candidate, index, tls);

            if (spec.DefaultBackend is { } fallback && defaultBackend is null)
            {
                defaultBackend = new IngressRoute
                {
                    Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:default-backend",
                    Namespace = candidate.Key.Namespace,
                    Ingress = candidate.Key.Name,
                    Backend = ResolveBackend(fallback.Service!, candidate, index),
                    Policy = candidate.Annotations.Policy,
                };
            }
            else if (spec.DefaultBackend is not null)
            {
                candidate.Warnings.Add($"spec.defaultBackend: not used; {defaultBackend!.Namespace}/{defaultBackend.Ingress} is older and also sets one");
            }

            for (var i = 0; i < (spec.Rules?.Count ?? 0); i++)
            {
                var rule = spec.Rules![i];
                var host = string.IsNullOrEmpty(rule.Host) ? null : rule.Host.ToLowerInvariant();
                for (var j = 0; j < (rule.Http?.Paths?.Count ?? 0); j++)
                {
                    var path = rule.Http!.Paths![j];
                    var exact = path.PathType == "Exact";
                    var claim = (host ?? "", exact ? path.Path! : path.Path!.TrimEnd('/'), exact);
                    if (claimed.TryGetValue(claim, out var owner))
                    {
                        candidate.Warnings.Add(
                            $"spec.rules[{i}].http.paths[{j}]: conflict: {host ?? "*"} {path.Path} ({path.PathType}) is already served by {owner.Namespace}/{owner.Ingress}, which is older; not served from here");
                        continue;
                    }

                    var route = new IngressRoute
                    {
                        Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:{host ?? "*"}{path.Path}:{path.PathType}",
                        Host = host,
                        Path = path.Path,
                        PathType = path.PathType,
                        Namespace = candidate.Key.Namespace,
                        Ingress = candidate.Key.Name,
                        Backend = ResolveBackend(path.Backend!.Service!, candidate, index),
                        SslRedirect = candidate.Annotations.ForceSslRedirect
                            || (candidate.Annotations.SslRedirect != false && host is not null && Covers(tlsHosts, host)),
                        Policy = candidate.Annotations.Policy,
                    };
                    claimed[claim] = route;
                    routes.Add(route);
                }
            }

            reports.Add(new IngressReport
            {
                Ingress = $"{candidate.Key.Namespace}/{candidate.Key.Name}",
                Status = candidate.ServingPrevious ? IngressOutcome.RefusedServingPrevious : IngressOutcome.Accepted,
                Errors = candidate.Errors,
                Warnings = candidate.Warnings,
            });
        }

        reports.Sort(static (a, b) => string.CompareOrdinal(a.Ingress, b.Ingress));
        var table = new RouteTable
        {
            Routes = routes,
            DefaultBackend = defaultBackend,
            Tls = [.. tls.Values.OrderBy(b => b.Host, StringComparer.Ordinal)],
            Ingresses = reports,
        };
        return new TranslationResult(RouteTableBuilder.Seal(table), accepted);
    }

    /// <summary>Whether this gateway handles the Ingress, given the IngressClasses by name (PRODUCT.md §3, Class).</summary>
    internal static bool IsOurs(Ingress ingress, IReadOnlyDictionary<string, IngressClass> classes, ClassOptions options)
    {
        var className = ingress.Spec?.IngressClassName;
        if (className is not null)
        {
            return className == options.ClassName
                || (classes.TryGetValue(className, out var named) && named.Spec?.Controller == options.ControllerName);
        }

        if (ingress.Metadata?.Annotations?.TryGetValue(LegacyClassAnnotation, out var legacy) == true)
        {
            return legacy == options.ClassName;
        }

        return options.WatchIngressWithoutClass || classes.Values.Any(c =>
            (c.Metadata?.Name == options.ClassName || c.Spec?.Controller == options.ControllerName)
            && c.Metadata?.Annotations?.GetValueOrDefault(DefaultClassAnnotation) == "true");
    }

    private static int CompareAge(Candidate a, Candidate b)
    {
        var byTime = (a.Ingress.Metadata?.CreationTimestamp ?? DateTimeOffset.MaxValue)
            .CompareTo(b.Ingress.Metadata?.CreationTimestamp ?? DateTimeOffset.MaxValue);
        if (byTime != 0)
        {
            return byTime;
        }

        var byNamespace = string.CompareOrdinal(a.Key.Namespace, b.Key.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(a.Key.Name, b.Key.Name);
    }

    private static List<string> BindCertificates(Candidate candidate, ObjectIndex index, Dictionary<string, TlsBinding> bindings)
    {
        var hosts = new List<string>();
        var entries = candidate.Ingress.Spec!.Tls ?? [];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var entryHosts = entry.Hosts ?? [];
            hosts.AddRange(entryHosts.Select(h => h.ToLowerInvariant()));
            if (string.IsNullOrEmpty(entry.SecretName))
            {
                candidate.Warnings.Add($"spec.tls[{i}].secretName: not set; these hosts get the default certificate");
                continue;
            }

            var secretName = $"{candidate.Key.Namespace}/{entry.SecretName}";
            if (!index.Secrets.TryGetValue((candidate.Key.Namespace, entry.SecretName), out var secret))
            {
                candidate.Warnings.Add($"spec.tls[{i}].secretName: secret {secretName} not found; these hosts get the default certificate");
                continue;
            }

            if (!TryReadTlsSecret(secret, out var certificate, out var key, out var problem))
            {
                candidate.Warnings.Add($"spec.tls[{i}].secretName: secret {secretName} {problem}; these hosts get the default certificate");
                continue;
            }

            foreach (var host in entryHosts)
            {
                var lower = host.ToLowerInvariant();
                if (bindings.TryGetValue(lower, out var existing))
                {
                    if (existing.Secret != secretName)
                    {
                        candidate.Warnings.Add($"spec.tls[{i}]: host {lower} already uses secret {existing.Secret} from an older Ingress");
                    }

                    continue;
                }

                bindings[lower] = new TlsBinding
                {
                    Host = lower,
                    Secret = secretName,
                    ContentHash = Hash(certificate + "\n" + key),
                    CertificatePem = certificate,
                    KeyPem = key,
                };
            }
        }

        return hosts;
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

    private static bool Covers(List<string> tlsHosts, string host)
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

    private static RouteBackend ResolveBackend(IngressServiceBackend backend, Candidate candidate, ObjectIndex index)
    {
        var ns = candidate.Key.Namespace;
        var serviceName = backend.Name!;
        var portText = backend.Port!.Number?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? backend.Port.Name!;
        var result = new RouteBackend { Service = serviceName, Port = portText, Protocol = candidate.Annotations.BackendProtocol ?? BackendProtocol.Http };
        var qualified = $"{ns}/{serviceName}";
        if (!index.Services.TryGetValue((ns, serviceName), out var service))
        {
            return result with { Unavailable = $"service {qualified} not found" };
        }

        var ports = service.Spec?.Ports ?? [];
        var servicePort = backend.Port.Number is { } number
            ? ports.FirstOrDefault(p => p.Port == number)
            : ports.FirstOrDefault(p => p.Name == backend.Port.Name);
        if (candidate.Annotations.BackendProtocol is null
            && (string.Equals(servicePort?.AppProtocol, "https", StringComparison.OrdinalIgnoreCase) || servicePort?.Name == "https"))
        {
            result = result with { Protocol = BackendProtocol.Https };
        }

        if (service.Spec?.Type == "ExternalName")
        {
            var externalPort = backend.Port.Number ?? servicePort?.Port;
            if (string.IsNullOrEmpty(service.Spec.ExternalName) || externalPort is null)
            {
                return result with { Unavailable = $"service {qualified} is ExternalName without a name or without port {portText}" };
            }

            return WithDestinations(result, [$"{service.Spec.ExternalName}:{externalPort}"]);
        }

        if (servicePort is null)
        {
            return result with { Unavailable = $"service {qualified} has no port {portText}" };
        }

        var destinations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var slice in index.SlicesFor(ns, serviceName))
        {
            var slicePort = slice.Ports?.FirstOrDefault(p => (p.Name ?? "") == (servicePort.Name ?? ""));
            if (slicePort?.Port is not { } targetPort)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints ?? [])
            {
                if (endpoint.Conditions?.Ready == false)
                {
                    continue;
                }

                foreach (var address in endpoint.Addresses ?? [])
                {
                    destinations.Add(address.Contains(':', StringComparison.Ordinal) ? $"[{address}]:{targetPort}" : $"{address}:{targetPort}");
                }
            }
        }

        return destinations.Count == 0
            ? result with { Unavailable = $"service {qualified} has no ready endpoints" }
            : WithDestinations(result, [.. destinations]);
    }

    private static RouteBackend WithDestinations(RouteBackend backend, List<string> destinations) => backend with
    {
        Destinations = destinations,
        DestinationPrefixes = [.. destinations.Select(d => (backend.Protocol == BackendProtocol.Https ? "https://" : "http://") + d)],
    };

    internal static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed record Candidate(ObjectKey Key, Ingress Ingress, IngressAnnotations Annotations, List<string> Warnings)
    {
        public IReadOnlyList<ValidationError> Errors { get; init; } = [];

        public bool ServingPrevious { get; init; }
    }

    /// <summary>The input, indexed the ways the translator looks things up.</summary>
    private sealed class ObjectIndex
    {
        private readonly Dictionary<(string Namespace, string Service), List<EndpointSlice>> _slices = [];

        public ObjectIndex(IReadOnlyDictionary<ObjectKey, KubeResource> objects)
        {
            foreach (var (key, resource) in objects.OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal))
            {
                switch (resource.Object)
                {
                    case Ingress ingress:
                        Ingresses.Add((key, ingress));
                        break;
                    case IngressClass ingressClass:
                        Classes[key.Name] = ingressClass;
                        break;
                    case Service service:
                        Services[(key.Namespace, key.Name)] = service;
                        break;
                    case Secret secret:
                        Secrets[(key.Namespace, key.Name)] = secret;
                        break;
                    case EndpointSlice slice when slice.Metadata?.Labels?.GetValueOrDefault(EndpointSlice.ServiceNameLabel) is { } owner:
                        var sliceKey = (key.Namespace, owner);
                        if (!_slices.TryGetValue(sliceKey, out var list))
                        {
                            _slices[sliceKey] = list = [];
                        }

                        list.Add(slice);
                        break;
                }
            }
        }

        public List<(ObjectKey Key, Ingress Ingress)> Ingresses { get; } = [];

        public Dictionary<string, IngressClass> Classes { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Namespace, string Name), Service> Services { get; } = [];

        public Dictionary<(string Namespace, string Name), Secret> Secrets { get; } = [];

        public List<EndpointSlice> SlicesFor(string ns, string service) =>
            _slices.TryGetValue((ns, service), out var list) ? list : [];
    }
}
