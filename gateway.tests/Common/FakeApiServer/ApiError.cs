using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>An API failure, answered as a meta/v1 Status with the HTTP code.</summary>
internal sealed class ApiError(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;
    public string Reason { get; } = reason;

    public JsonObject ToStatus() => Status(Code, Reason, Message);

    public static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    public static ApiError NotFound(ApiResource r, string name) => new(404, "NotFound", $"{r.QualifiedName} \"{name}\" not found");

    public static ApiError AlreadyExists(ApiResource r, string name) => new(409, "AlreadyExists", $"{r.QualifiedName} \"{name}\" already exists");

    public static ApiError Conflict(ApiResource r, string name) => new(409, "Conflict",
        $"Operation cannot be fulfilled on {r.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");

    public static ApiError BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiError Expired(string message) => new(410, "Expired", message);
}
