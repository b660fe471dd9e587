using System.Text.Json;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>Reads what an audit webhook receives: an EventList (the webhook backend) or single Events (the log backend, one per line).</summary>
internal static class AuditEvents
{
    public static IReadOnlyList<AuditEvent> Parse(ReadOnlySpan<byte> body)
    {
        var trimmed = body.Trim(" \t\r\n"u8);
        var events = new List<AuditEvent>();
        while (trimmed.Length > 0)
        {
            var reader = new Utf8JsonReader(trimmed, new JsonReaderOptions { AllowMultipleValues = true });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("expected a JSON object");
            }

            if (root.TryGetProperty("items", out _) || (root.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "EventList"))
            {
                var list = root.Deserialize(WebhookJsonContext.Default.AuditEventList) ?? throw new JsonException("empty EventList");
                events.AddRange(list.Items ?? throw new JsonException("items: required"));
            }
            else
            {
                events.Add(root.Deserialize(WebhookJsonContext.Default.AuditEvent) ?? throw new JsonException("empty Event"));
            }

            trimmed = trimmed[(int)reader.BytesConsumed..].TrimStart(" \t\r\n"u8);
        }

        return events;
    }
}
