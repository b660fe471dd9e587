using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AuditGateway.Demo;

/// <summary>The demo's calls to its own gateway's admin API (docs/admin-api.md), with the demo's admin token.</summary>
internal sealed class DemoAdminApi : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _client;

    /// <param name="admin">The admin listener.</param>
    public DemoAdminApi(Uri admin, string token)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(10) };
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>
    /// The seq of the first request logged from <paramref name="client"/>, once a signed checkpoint
    /// covers it (so <c>auditgw proof inclusion --seq</c> can prove it); null when there is none by
    /// <paramref name="timeout"/>. The search is an audited read, recorded as the demo's.
    /// </summary>
    public async Task<long?> ProvableRequestFromAsync(IPAddress client, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long? seq = null;
        do
        {
            seq ??= await FirstSeqAsync(client, cancellationToken);
            if (seq is { } found && await CheckpointSizeAsync(cancellationToken) > found)
            {
                return found;
            }

            await Task.Delay(Poll, time, cancellationToken);
        }
        while (time.GetElapsedTime(started) < timeout);

        return null;
    }

    private async Task<long?> FirstSeqAsync(IPAddress client, CancellationToken cancellationToken)
    {
        using var document = await GetAsync($"api/log?client={client}&limit=1", cancellationToken);
        return document?.RootElement.GetProperty("entries") is { ValueKind: JsonValueKind.Array } entries && entries.GetArrayLength() > 0
            ? entries[0].GetProperty("seq").GetInt64()
            : null;
    }

    /// <summary>The latest checkpoint's tree size; 0 before the first.</summary>
    private async Task<long> CheckpointSizeAsync(CancellationToken cancellationToken)
    {
        using var document = await GetAsync("api/checkpoint", cancellationToken);
        return document?.RootElement.GetProperty("size").GetInt64() ?? 0;
    }

    private async Task<JsonDocument?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
    }

    public void Dispose() => _client.Dispose();
}
