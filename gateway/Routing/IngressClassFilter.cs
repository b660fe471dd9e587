using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>Decides which Ingresses this gateway handles, by class (docs/annotations.md, Class).</summary>
internal static class IngressClassFilter
{
    private const string DefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class";
    private const string LegacyClassAnnotation = "kubernetes.io/ingress.class";

    /// <summary>Whether this gateway handles the Ingress, given the IngressClasses by name.</summary>
    public static bool IsOurs(Ingress ingress, IReadOnlyDictionary<string, IngressClass> classes, ClassOptions options)
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
}
