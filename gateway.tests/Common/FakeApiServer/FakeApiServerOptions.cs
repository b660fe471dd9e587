using System.Security.Cryptography.X509Certificates;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>An authenticated identity, as the apiserver puts it in audit events and admission reviews.</summary>
internal sealed record FakeUser(string Username, IReadOnlyList<string> Groups);

/// <summary>A webhook the fake server calls: URL, the CA to trust for it (null = system trust), a bearer token.</summary>
internal sealed record WebhookTarget(Uri Url, X509Certificate2? Ca = null, string? BearerToken = null);

internal sealed record FakeApiServerOptions
{
    public const string AdminToken = "admin-token";

    /// <summary>Bearer token → user. The kubeconfig the server writes uses <see cref="AdminToken"/>.</summary>
    public IReadOnlyDictionary<string, FakeUser> Users { get; init; } = new Dictionary<string, FakeUser>(StringComparer.Ordinal)
    {
        [AdminToken] = new("kubernetes-admin", ["system:masters", "system:authenticated"]),
    };

    /// <summary>DNS names the server certificate carries instead of 127.0.0.1/localhost (for <c>tls-server-name</c>).</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = [];

    /// <summary>Also authenticate client certificates signed by the server's CA (CN = user, O = groups), before bearer tokens.</summary>
    public bool ClientCertificates { get; init; }

    /// <summary>How many events the watch history keeps; older resume points get 410.</summary>
    public int HistoryLimit { get; init; } = 1000;

    /// <summary>When set, BOOKMARK events are sent this often to watches that allow them.</summary>
    public TimeSpan? BookmarkInterval { get; init; }

    /// <summary>ValidatingAdmissionWebhook for ingresses (failure policy Fail).</summary>
    public WebhookTarget? AdmissionWebhook { get; init; }

    public string AdmissionWebhookName { get; init; } = "validate.auditgateway.io";

    /// <summary>Audit webhook receiving <c>audit.k8s.io/v1</c> EventLists.</summary>
    public WebhookTarget? AuditWebhook { get; init; }

    /// <summary><c>Metadata</c>, <c>Request</c> or <c>RequestResponse</c>.</summary>
    public string AuditLevel { get; init; } = "RequestResponse";

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
