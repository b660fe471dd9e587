using System.Text.Json;
using System.Text.Json.Serialization;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>Reports as indented JSON (camelCase, nulls left out, only the escaping JSON requires).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(Report))]
[JsonSerializable(typeof(ActorSource))]
[JsonSerializable(typeof(ChangeSource))]
internal sealed partial class ReportJsonContext : JsonSerializerContext
{
    /// <summary>Like <see cref="JsonSerializerContext"/>'s default, but writes <c>+</c>, <c>&lt;</c> and non-ASCII as they are.</summary>
    public static ReportJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
