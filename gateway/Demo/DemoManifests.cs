using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AuditGateway.Proxy;

namespace AuditGateway.Demo;

/// <summary>
/// The demo's example manifests: two services behind host and path rules, a TLS host, and three
/// Ingresses with policy: one requires a JWT, one admits only 127.0.0.1, one runs report-only.
/// </summary>
internal static class DemoManifests
{
    public const string ShopHost = "shop.demo.local";
    public const string SecureHost = "secure.demo.local";

    /// <summary>The path of the Ingress that requires a JWT.</summary>
    public const string JwtPath = "/account";

    /// <summary>The path of the Ingress that admits only <see cref="AllowedSource"/>.</summary>
    public const string RestrictedPath = "/admin";

    /// <summary>The path of the report-only Ingress (a JWT rule that is logged, not enforced).</summary>
    public const string ReportOnlyPath = "/reports";

    public const string AllowedSource = "127.0.0.1/32";

    /// <summary>Writes the manifests; the EndpointSlices point at the given backend ports.</summary>
    public static void Write(string directory, int shopWebPort, int shopApiPort, int securePort, DateTimeOffset now)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "shop.yaml"), $$"""
            # The shop: a web front end on /, an API on /api. Edit this file while the demo runs:
            # the gateway applies the change within a fraction of a second.
            {{IngressHead("shop")}}
              rules:
                - host: {{ShopHost}}
                  http:
                    paths:
                      - path: /
                        pathType: Prefix
                        backend:
                          service: { name: shop-web, port: { number: 80 } }
                      - path: /api
                        pathType: Prefix
                        backend:
                          service: { name: shop-api, port: { name: http } }
                      - path: /healthz
                        pathType: Exact
                        backend:
                          service: { name: shop-api, port: { name: http } }
            {{Service("shop-web", 80, shopWebPort)}}
            {{Service("shop-api", 8080, shopApiPort)}}
            """);

        using var certificate = CertificateStore.CreateSelfSigned(SecureHost, now, SecureHost);
        var crt = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificate.ExportCertificatePem()));
        var key = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()));
        File.WriteAllText(Path.Combine(directory, "secure.yaml"), $$"""
            # A TLS host: HTTPS with the certificate from the Secret below (chosen by SNI);
            # plain HTTP requests are redirected (308).
            {{IngressHead("secure")}}
              tls:
                - hosts: [{{SecureHost}}]
                  secretName: secure-tls
              rules:
                - host: {{SecureHost}}
                  http:
                    paths:
                      - path: /
                        pathType: Prefix
                        backend:
                          service: { name: vault, port: { number: 443 } }
            ---
            apiVersion: v1
            kind: Secret
            type: kubernetes.io/tls
            metadata:
              name: secure-tls
              namespace: demo
            data:
              tls.crt: {{crt}}
              tls.key: {{key}}
            {{Service("vault", 443, securePort)}}
            """);

        File.WriteAllText(Path.Combine(directory, "account.yaml"), PolicyIngress(
            "shop-account",
            """
            # Requires a JWT from the demo's issuer (identity.jwt in demo/gateway.yaml under the data
            # directory): without one the gateway answers 401 and the request never reaches shop-api.
            # The token's subject is recorded in the log (the token itself never is).
            """,
            "auditgateway.io/auth: jwt",
            JwtPath,
            "shop-api"));
        File.WriteAllText(Path.Combine(directory, "admin.yaml"), PolicyIngress(
            "shop-admin",
            """
            # Admits only 127.0.0.1: any other client address gets 403.
            """,
            $"auditgateway.io/allow-source-range: \"{AllowedSource}\"",
            RestrictedPath,
            "shop-web"));
        File.WriteAllText(Path.Combine(directory, "reports.yaml"), PolicyIngress(
            "shop-reports",
            """
            # Report-only: a request without a JWT is forwarded, and logged as "would-deny" with the
            # rule it fails. Try a rule like this before enforcing it (remove the policy-mode line).
            """,
            "auditgateway.io/auth: jwt\n    auditgateway.io/policy-mode: report-only",
            ReportOnlyPath,
            "shop-api"));
    }

    private static string PolicyIngress(string name, string comment, string annotations, string path, string service) => $$"""
        {{comment}}
        {{IngressHead(name, annotations)}}
          rules:
            - host: {{ShopHost}}
              http:
                paths:
                  - path: {{path}}
                    pathType: Prefix
                    backend:
                      service: { name: {{service}}, port: { name: http } }

        """;

    /// <summary>An Ingress of the demo namespace and the gateway's class, up to its <c>spec</c>'s rules; <paramref name="annotations"/> are lines indented for <c>metadata.annotations</c>.</summary>
    private static string IngressHead(string name, string? annotations = null) => $$"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: {{name}}
          namespace: demo
        {{(annotations is null ? "" : "  annotations:\n    " + annotations + "\n")}}spec:
          ingressClassName: auditgateway
        """;

    private static string Service(string name, int port, int backendPort) => string.Create(CultureInfo.InvariantCulture, $$"""
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: {{name}}
          namespace: demo
        spec:
          selector: { app: {{name}} }
          ports:
            - name: http
              port: {{port}}
              targetPort: {{backendPort}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: {{name}}-1
          namespace: demo
          labels:
            kubernetes.io/service-name: {{name}}
        addressType: IPv4
        ports:
          - name: http
            port: {{backendPort}}
        endpoints:
          - addresses: [127.0.0.1]
            conditions: { ready: true }
        """);
}
