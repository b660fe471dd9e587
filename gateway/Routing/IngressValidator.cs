using System.Text.RegularExpressions;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Checks one Ingress on its own, collecting every error with the field it concerns.
/// Mirrors the API server's validation for what it checks, plus this gateway's annotations
/// and the backends it supports.
/// </summary>
internal static partial class IngressValidator
{
    public static readonly string[] PathTypes = ["Exact", "Prefix", "ImplementationSpecific"];

    public static IngressAnnotations Validate(Ingress ingress, List<ValidationError> errors)
    {
        var annotations = IngressAnnotations.Parse(ingress.Metadata?.Annotations, errors);
        var spec = ingress.Spec;
        if (spec is null || (spec.DefaultBackend is null && (spec.Rules is null || spec.Rules.Count == 0)))
        {
            errors.Add(new ValidationError("spec", "either defaultBackend or rules must be specified"));
            return annotations;
        }

        if (spec.DefaultBackend is { } defaultBackend)
        {
            ValidateBackend(defaultBackend, "spec.defaultBackend", errors);
        }

        for (var i = 0; i < (spec.Rules?.Count ?? 0); i++)
        {
            var rule = spec.Rules![i];
            var field = $"spec.rules[{i}]";
            if (!string.IsNullOrEmpty(rule.Host))
            {
                ValidateHost(rule.Host, $"{field}.host", errors);
            }

            for (var j = 0; j < (rule.Http?.Paths?.Count ?? 0); j++)
            {
                ValidatePath(rule.Http!.Paths![j], $"{field}.http.paths[{j}]", errors);
            }
        }

        for (var i = 0; i < (spec.Tls?.Count ?? 0); i++)
        {
            var tls = spec.Tls![i];
            for (var j = 0; j < (tls.Hosts?.Count ?? 0); j++)
            {
                ValidateHost(tls.Hosts![j], $"spec.tls[{i}].hosts[{j}]", errors);
            }
        }

        return annotations;
    }

    private static void ValidatePath(HttpIngressPath path, string field, List<ValidationError> errors)
    {
        if (path.PathType is null)
        {
            errors.Add(new ValidationError($"{field}.pathType", "required; one of Exact, Prefix, ImplementationSpecific"));
        }
        else if (Array.IndexOf(PathTypes, path.PathType) < 0)
        {
            errors.Add(new ValidationError($"{field}.pathType", $"'{path.PathType}' is not one of Exact, Prefix, ImplementationSpecific"));
        }

        var value = path.Path;
        if (string.IsNullOrEmpty(value) || value[0] != '/')
        {
            errors.Add(new ValidationError($"{field}.path", $"'{value}' must be an absolute path starting with '/'"));
        }
        else if (path.PathType is "Exact" or "Prefix")
        {
            foreach (var bad in (string[])["//", "/./", "/../", "%2f", "%2F"])
            {
                if (value.Contains(bad, StringComparison.Ordinal))
                {
                    errors.Add(new ValidationError($"{field}.path", $"'{value}' must not contain '{bad}'"));
                }
            }

            if (value.EndsWith("/..", StringComparison.Ordinal) || value.EndsWith("/.", StringComparison.Ordinal))
            {
                errors.Add(new ValidationError($"{field}.path", $"'{value}' must not end with '/..' or '/.'"));
            }
        }

        if (value is not null && value.Any(c => char.IsControl(c) || c is ' ' or '?' or '#'))
        {
            errors.Add(new ValidationError($"{field}.path", $"'{value}' must not contain spaces, control characters, '?' or '#'"));
        }

        if (path.Backend is null)
        {
            errors.Add(new ValidationError($"{field}.backend", "required"));
        }
        else
        {
            ValidateBackend(path.Backend, $"{field}.backend", errors);
        }
    }

    private static void ValidateBackend(IngressBackend backend, string field, List<ValidationError> errors)
    {
        if (backend.Resource is not null)
        {
            errors.Add(new ValidationError($"{field}.resource", "resource backends are not supported; use a service backend"));
            return;
        }

        if (backend.Service is not { } service)
        {
            errors.Add(new ValidationError($"{field}.service", "required"));
            return;
        }

        if (string.IsNullOrEmpty(service.Name) || !Dns1035Label().IsMatch(service.Name))
        {
            errors.Add(new ValidationError($"{field}.service.name", $"'{service.Name}' is not a valid service name (RFC 1035 label)"));
        }

        switch (service.Port)
        {
            case null or { Number: null, Name: null or "" }:
                errors.Add(new ValidationError($"{field}.service.port", "a port number or name is required"));
                break;
            case { Number: not null, Name: not null and not "" }:
                errors.Add(new ValidationError($"{field}.service.port", "give a port number or a port name, not both"));
                break;
            case { Number: { } n } when n is < 1 or > 65535:
                errors.Add(new ValidationError($"{field}.service.port.number", $"{n} is not between 1 and 65535"));
                break;
            case { Name: { } name } when name.Length > 0 && !PortName().IsMatch(name):
                errors.Add(new ValidationError($"{field}.service.port.name", $"'{name}' is not a valid port name"));
                break;
        }
    }

    private static void ValidateHost(string host, string field, List<ValidationError> errors)
    {
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        if (System.Net.IPAddress.TryParse(host, out _))
        {
            errors.Add(new ValidationError(field, $"'{host}' must be a DNS name, not an IP address"));
        }
        else if (!Dns1123Subdomain().IsMatch(name) || name.Length > 253)
        {
            errors.Add(new ValidationError(field, $"'{host}' is not a lower-case DNS name (a wildcard may only be a leading '*.')"));
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex("^(?=.{1,15}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex PortName();
}
