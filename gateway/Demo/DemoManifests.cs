using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AuditGateway.Proxy;

namespace AuditGateway.Demo;

/// <summary>The demo's example manifests: two services behind host and path rules, and a TLS host.</summary>
internal static class DemoManifests
{
    public const string ShopHost = "shop.demo.local";
    public const string SecureHost = "secure.demo.local";

    /// <summary>Writes the manifests; the EndpointSlices point at the given backend ports.</summary>
    public static void Write(string directory, int shopWebPort, int shopApiPort, int securePort, DateTimeOffset now)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "shop.yaml"), $$"""
            # The shop: a web front end on /, an API on /api. Edit this file while the demo runs:
            # the gateway applies the change within a fraction of a second.
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: shop
              namespace: demo
            spec:
              ingressClassName: auditgateway
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
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: secure
              namespace: demo
            spec:
              ingressClassName: auditgateway
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
    }

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
