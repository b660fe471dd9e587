using System.Buffers.Binary;

namespace AuditGateway.Proxy;

/// <summary>
/// Follows one direction of a WebSocket connection as its bytes pass (RFC 6455 §5.2), for the audit
/// entry: counts the frames and keeps the status code of the first Close frame (opcode 0x8; the first
/// two bytes of its payload, unmasked when the frame is masked). Incremental and without buffering: a
/// frame header (at most 14 bytes) may arrive split across any number of chunks and is collected in a
/// small array; payloads are skipped by length, except a Close frame's first two bytes.
/// Not thread-safe: one instance per direction, fed by the one loop that copies that direction.
/// </summary>
internal sealed class WebSocketFrameReader(Action onClose)
{
    private const int CloseOpcode = 0x8;
    private const int MostHeaderBytes = 14;

    private readonly byte[] _header = new byte[MostHeaderBytes];

    /// <summary>Header bytes collected so far, and how many this header has (2 until its second byte is known).</summary>
    private int _filled;
    private int _needed = 2;

    /// <summary>Payload bytes of the current frame not yet passed, and how many have passed.</summary>
    private ulong _remaining;
    private ulong _passed;

    /// <summary>The current frame is the first Close frame: its status bytes are collected.</summary>
    private bool _collectingStatus;
    private uint _mask;
    private int _status;

    /// <summary>Frames whose header has passed, control frames included.</summary>
    public long Frames { get; private set; }

    /// <summary>This direction sent a Close frame.</summary>
    public bool Closed { get; private set; }

    /// <summary>The status code of the first Close frame; null when none passed or it carried none (RFC 6455 §7.1.5: 1005).</summary>
    public int? CloseStatus { get; private set; }

    /// <summary>Reads the next bytes of this direction.</summary>
    public void Feed(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_remaining > 0)
            {
                var length = (int)Math.Min(_remaining, (ulong)data.Length);
                if (_collectingStatus)
                {
                    CollectStatus(data[..length]);
                }

                _remaining -= (ulong)length;
                _passed += (ulong)length;
                data = data[length..];
                continue;
            }

            _header[_filled++] = data[0];
            data = data[1..];
            if (_filled == 2)
            {
                var lengthBytes = (_header[1] & 0x7f) switch { 126 => 2, 127 => 8, _ => 0 };
                _needed = 2 + lengthBytes + ((_header[1] & 0x80) != 0 ? 4 : 0);
            }

            if (_filled == _needed)
            {
                StartPayload();
            }
        }
    }

    private void StartPayload()
    {
        var header = _header.AsSpan(0, _needed);
        var length = (ulong)(header[1] & 0x7f);
        var maskAt = 2;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
            maskAt = 4;
        }
        else if (length == 127)
        {
            length = BinaryPrimitives.ReadUInt64BigEndian(header[2..]);
            maskAt = 10;
        }

        Frames++;
        _mask = (header[1] & 0x80) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(header[maskAt..]) : 0;
        _collectingStatus = (header[0] & 0x0f) == CloseOpcode && !Closed;
        if (_collectingStatus)
        {
            Closed = true;
            _status = 0;
            onClose();
        }

        _remaining = length;
        _passed = 0;
        _filled = 0;
        _needed = 2;
    }

    private void CollectStatus(ReadOnlySpan<byte> payload)
    {
        for (var i = 0; i < payload.Length && _passed + (ulong)i < 2; i++)
        {
            var at = (int)_passed + i;
            var key = (byte)(_mask >> (8 * (3 - (at & 3))));
            _status = (_status << 8) | (byte)(payload[i] ^ key);
            if (at == 1)
            {
                CloseStatus = _status;
                _collectingStatus = false;
            }
        }
    }
}
