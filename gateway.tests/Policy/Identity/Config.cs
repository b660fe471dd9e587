using System.Text.Json;

namespace AuditGateway.Tests.Policy.Identity;

internal static class Config
{
    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
