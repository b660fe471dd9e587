using AuditGateway.Audit.Entries;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>
/// Which tool made a change, from the client's user agent (audit webhook) or the field manager
/// (managedFields, the fieldManager kubectl and controllers send), with the username as a hint
/// for controllers. Client-reported values: they say which tool, never who.
/// </summary>
internal static class SourceClassifier
{
    public static ChangeSource Classify(string? userAgent, string? manager, string? username)
    {
        foreach (var text in (string?[])[userAgent, manager])
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var source = ClassifyTool(text.Trim().ToLowerInvariant());
            if (source != ChangeSource.Unknown)
            {
                return source;
            }
        }

        return username is not null
            && (username.StartsWith("system:serviceaccount:kube-system:", StringComparison.Ordinal)
                || username is "system:kube-controller-manager" or "system:kube-scheduler"
                || username.StartsWith("system:node:", StringComparison.Ordinal))
            ? ChangeSource.Controller
            : ChangeSource.Unknown;
    }

    private static ChangeSource ClassifyTool(string text)
    {
        // Flux first: its helm-controller would otherwise read as Helm.
        if (text.StartsWith("kustomize-controller", StringComparison.Ordinal)
            || text.StartsWith("helm-controller", StringComparison.Ordinal)
            || text.StartsWith("source-controller", StringComparison.Ordinal)
            || text.StartsWith("flux", StringComparison.Ordinal))
        {
            return ChangeSource.Flux;
        }

        if (text.StartsWith("kubectl", StringComparison.Ordinal))
        {
            return ChangeSource.Kubectl;
        }

        if (text.StartsWith("helm", StringComparison.Ordinal))
        {
            return ChangeSource.Helm;
        }

        if (text.StartsWith("argocd", StringComparison.Ordinal) || text.Contains("argo-cd", StringComparison.Ordinal))
        {
            return ChangeSource.ArgoCD;
        }

        if (text.StartsWith("kube-controller-manager", StringComparison.Ordinal)
            || text.Contains("-controller", StringComparison.Ordinal)
            || text.StartsWith("kubelet", StringComparison.Ordinal)
            || text.StartsWith("auditgw", StringComparison.Ordinal))
        {
            return ChangeSource.Controller;
        }

        return ChangeSource.Unknown;
    }

    /// <summary>The newest managedFields entry of the object itself (status writes skipped when there is another).</summary>
    public static ManagedFieldsEntry? Newest(ObjectMeta? meta)
    {
        var entries = meta?.ManagedFields;
        if (entries is null || entries.Count == 0)
        {
            return null;
        }

        var main = entries.Where(e => string.IsNullOrEmpty(e.Subresource)).ToList();
        return (main.Count > 0 ? main : entries).MaxBy(e => e.Time ?? DateTimeOffset.MinValue);
    }
}
