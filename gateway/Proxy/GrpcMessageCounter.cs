using System.Buffers.Binary;

namespace AuditGateway.Proxy;

/// <summary>
/// Counts the gRPC messages of a body as its bytes pass, in chunks cut anywhere: each message is a
/// 5-byte prefix (a compressed flag, then the payload's length as a big-endian 32-bit integer) and
/// its payload. A message counts once its last byte has passed, so a call cut short in a message
/// does not count that message. Nothing is buffered but the prefix being read.
/// </summary>
internal struct GrpcMessageCounter
{
    private const int PrefixLength = 5;

    /// <summary>The prefix bytes seen of the message being read: its length in bytes 1 to 4.</summary>
    private uint _prefix;

    /// <summary>How many bytes of the current prefix have passed (0 to 4; 5 only for a moment).</summary>
    private int _prefixSeen;

    /// <summary>Payload bytes of the current message still to pass.</summary>
    private long _payloadLeft;

    /// <summary>Whole messages that have passed.</summary>
    public long Messages { get; private set; }

    public void Add(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_payloadLeft > 0)
            {
                var skip = (int)Math.Min(_payloadLeft, bytes.Length);
                bytes = bytes[skip..];
                _payloadLeft -= skip;
                if (_payloadLeft == 0)
                {
                    Messages++;
                }

                continue;
            }

            if (_prefixSeen == 0 && bytes.Length >= PrefixLength)
            {
                // The whole prefix in this chunk, as it usually is.
                StartPayload(BinaryPrimitives.ReadUInt32BigEndian(bytes[1..]));
                bytes = bytes[PrefixLength..];
                continue;
            }

            // Byte 0 is the flag; bytes 1 to 4 the length.
            if (_prefixSeen > 0)
            {
                _prefix = (_prefix << 8) | bytes[0];
            }

            bytes = bytes[1..];
            if (++_prefixSeen == PrefixLength)
            {
                StartPayload(_prefix);
            }
        }
    }

    private void StartPayload(uint length)
    {
        _prefix = 0;
        _prefixSeen = 0;
        _payloadLeft = length;
        if (length == 0)
        {
            Messages++;
        }
    }
}
