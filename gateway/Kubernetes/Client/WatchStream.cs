using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Kubernetes.Client;

/// <summary>The watch event types, as on the wire.</summary>
internal enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

/// <summary>One watch event; <see cref="Status"/> is set for ERROR events.</summary>
internal sealed record WatchEvent(WatchEventType Type, JsonObject Object, Status? Status);

/// <summary>
/// Splits a watch body into JSON objects. The server writes one object per line, but frames
/// are found by parsing, never by chunk or line boundaries: feed bytes with <see cref="GetWriteMemory"/>
/// and <see cref="Advance"/>, then take frames with <see cref="TryReadFrame"/> until it says "need more".
/// </summary>
internal sealed class JsonFrameScanner
{
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    /// <summary>True when bytes of an unfinished frame are buffered.</summary>
    public bool HasPartialFrame
    {
        get
        {
            SkipWhitespace();
            return _start < _end;
        }
    }

    public Memory<byte> GetWriteMemory(int sizeHint = 4096)
    {
        if (_start > 0 && _buffer.Length - _end < sizeHint)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_buffer.Length - _end < sizeHint)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _end + sizeHint));
        }

        return _buffer.AsMemory(_end);
    }

    public void Advance(int count) => _end += count;

    /// <summary>Returns the next complete JSON object, or false when more data is needed.</summary>
    public bool TryReadFrame(out ReadOnlyMemory<byte> frame)
    {
        frame = default;
        SkipWhitespace();
        if (_start == _end)
        {
            return false;
        }

        var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), isFinalBlock: false, default);
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"a watch frame must be a JSON object, not {reader.TokenType}");
        }

        if (!reader.TrySkip())
        {
            return false;
        }

        var length = (int)reader.BytesConsumed;
        frame = _buffer.AsMemory(_start, length);
        _start += length;
        return true;
    }

    private void SkipWhitespace()
    {
        while (_start < _end && _buffer[_start] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            _start++;
        }
    }
}

/// <summary>Reads one watch frame (<c>{"type": ..., "object": {...}}</c>) into a <see cref="WatchEvent"/>.</summary>
internal static class WatchEventReader
{
    public static WatchEvent Read(ReadOnlySpan<byte> frame)
    {
        var node = JsonNode.Parse(frame) as JsonObject ?? throw new JsonException("a watch frame must be a JSON object");
        var typeName = node["type"]?.GetValueKind() == JsonValueKind.String ? node["type"]!.GetValue<string>() : null;
        var obj = node["object"] as JsonObject ?? throw new JsonException($"watch event {typeName} has no object");
        node.Remove("object");
        var type = typeName switch
        {
            "ADDED" => WatchEventType.Added,
            "MODIFIED" => WatchEventType.Modified,
            "DELETED" => WatchEventType.Deleted,
            "BOOKMARK" => WatchEventType.Bookmark,
            "ERROR" => WatchEventType.Error,
            _ => throw new JsonException($"unknown watch event type '{typeName}'"),
        };
        var status = type == WatchEventType.Error ? obj.Deserialize(KubeJsonContext.Default.Status) : null;
        return new WatchEvent(type, obj, status);
    }
}
