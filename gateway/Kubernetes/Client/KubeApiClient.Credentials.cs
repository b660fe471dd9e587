using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace AuditGateway.Kubernetes.Client;

/// <summary>Credentials on each request: the bearer token, and an exec plugin's refresh after a 401.</summary>
internal sealed partial class KubeApiClient
{
    /// <summary>
    /// Sends with the configured credentials. When the API server answers 401 to an exec plugin's
    /// credential, the plugin runs again and the request is retried once. <paramref name="timeout"/>,
    /// when given, is armed with <see cref="RequestTimeout"/> for each attempt (not for the plugin run,
    /// which has its own).
    /// </summary>
    private async Task<HttpResponseMessage> SendAuthorizedAsync(
        HttpMethod method, string pathAndQuery, string? body, string? contentType, HttpCompletionOption completion, CancellationTokenSource? timeout, CancellationToken cancellationToken)
    {
        var exec = _config.Exec;
        for (var retried = false; ; retried = true)
        {
            var credential = exec is null ? null : await CredentialAsync(exec, cancellationToken);
            using var request = new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative))
            {
                Content = body is null ? null : new StringContent(body, Encoding.UTF8, contentType ?? "application/json"),
            };

            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if ((exec is null ? _config.Token?.GetToken() : credential!.Token) is { Length: > 0 } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            timeout?.CancelAfter(RequestTimeout);
            var response = await _http.SendAsync(request, completion, timeout?.Token ?? cancellationToken);
            if (response.StatusCode != HttpStatusCode.Unauthorized || credential is null || retried)
            {
                return response;
            }

            response.Dispose();
            Log.CredentialRefused(_logger, exec!.Config.User, method, pathAndQuery);
            exec.Invalidate(credential);
        }
    }

    /// <summary>
    /// The plugin's credential. A plugin failing after start-up fails this request like a network
    /// error would (callers retry those), with the plugin's one-line error as the message.
    /// </summary>
    private static async Task<PluginCredential> CredentialAsync(ExecCredentialSource exec, CancellationToken cancellationToken)
    {
        try
        {
            return await exec.GetAsync(cancellationToken);
        }
        catch (KubeConfigException e)
        {
            throw new HttpRequestException("getting credentials: " + e.Message, e);
        }
    }

    private void OnCredentialReplaced(PluginCredential old, PluginCredential next)
    {
        var rotated = !ExecCredentialSource.SameCertificate(old.Certificate, next.Certificate);
        Log.CredentialReplaced(_logger, _config.Exec!.Config.User, next.Expires, rotated);
        if (rotated)
        {
            _connections!.CloseAll();
        }
    }
}
