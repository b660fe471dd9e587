using System.Text;
using AuditGateway.Kubernetes.Client;

namespace AuditGateway.Tests.Kubernetes;

public sealed class WatchStreamTests
{
    private const string Stream =
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a \\\"}{\",\"resourceVersion\":\"5\"}}}\n" +
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"}}}" +
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: 1 (3171407)\",\"reason\":\"Expired\",\"code\":410}}\n";

    [Fact]
    public void Frames_are_found_at_every_split_point()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        for (var split = 0; split <= bytes.Length; split++)
        {
            var scanner = new JsonFrameScanner();
            var events = new List<WatchEvent>();
            foreach (var part in new[] { bytes[..split], bytes[split..] })
            {
                part.CopyTo(scanner.GetWriteMemory(part.Length));
                scanner.Advance(part.Length);
                while (scanner.TryReadFrame(out var frame))
                {
                    events.Add(WatchEventReader.Read(frame.Span));
                }
            }

            Assert.False(scanner.HasPartialFrame);
            Assert.Equal([WatchEventType.Added, WatchEventType.Bookmark, WatchEventType.Error], events.Select(e => e.Type));
            Assert.Equal("a \"}{", (string?)events[0].Object["metadata"]!["name"]);
            Assert.Equal(410, events[2].Status!.Code);
            Assert.Equal("Expired", events[2].Status!.Reason);
        }
    }

    [Fact]
    public void A_truncated_frame_is_partial_and_an_unknown_type_is_an_error()
    {
        var scanner = new JsonFrameScanner();
        var bytes = Encoding.UTF8.GetBytes("{\"type\":\"ADDED\",\"obj");
        bytes.CopyTo(scanner.GetWriteMemory(bytes.Length));
        scanner.Advance(bytes.Length);
        Assert.False(scanner.TryReadFrame(out _));
        Assert.True(scanner.HasPartialFrame);
        Assert.Throws<System.Text.Json.JsonException>(() => WatchEventReader.Read("{\"type\":\"WEIRD\",\"object\":{}}"u8));
    }
}
