using System.Globalization;
using System.Text;

namespace AuditGateway.LoadTest;

/// <summary>
/// The other Ingresses of a measurement at scale: Ingress <c>scale/ing-I</c> (host
/// <c>hI.scale.loadtest.local</c>, paths <c>/</c> and <c>/api</c>) with its Service <c>svc-I</c> (as apply-latency's own) and one
/// EndpointSlice on 127.0.0.1:<c>backendPort</c>, written <see cref="PerFile"/> Ingresses to a file.
/// </summary>
internal static class ScaleManifests
{
    public const int PerFile = 33;

    public static void Write(string directory, int count, int backendPort)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Append(Triple(i, backendPort));
            if ((i + 1) % PerFile == 0 || i == count - 1)
            {
                File.WriteAllText(Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"scale-{i / PerFile:D5}.yaml")), text.ToString());
                text.Clear();
            }
        }
    }

    private static string Triple(int i, int backendPort) => string.Create(CultureInfo.InvariantCulture, $$"""
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: ing-{{i}}
          namespace: scale
        spec:
          ingressClassName: auditgateway
          rules:
            - host: h{{i}}.scale.loadtest.local
              http:
                paths:
                  - path: /
                    pathType: Prefix
                    backend:
                      service: { name: svc-{{i}}, port: { number: 80 } }
                  - path: /api
                    pathType: Prefix
                    backend:
                      service: { name: svc-{{i}}, port: { number: 80 } }
        ---

        """) + ApplyLatencyCommand.ServiceYaml(backendPort, $"svc-{i}", "scale") + "\n";
}
