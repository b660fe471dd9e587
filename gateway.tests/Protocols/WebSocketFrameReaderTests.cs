using System.Buffers.Binary;
using System.Text;
using AuditGateway.Proxy;

namespace AuditGateway.Tests.Protocols;

/// <summary>The frame reader counts frames and finds the first Close frame's status however the bytes are split.</summary>
public sealed class WebSocketFrameReaderTests
{
    private static readonly byte[] s_key = [0x37, 0xfa, 0x21, 0x3d];

    /// <summary>One frame as RFC 6455 §5.2 lays it out, masked with <paramref name="key"/> when given.</summary>
    private static byte[] Frame(int opcode, ReadOnlySpan<byte> payload, byte[]? key, bool fin = true)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        var mask = key is null ? 0 : 0x80;
        if (payload.Length < 126)
        {
            header.Add((byte)(mask | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header.Add((byte)(mask | 126));
            header.AddRange([(byte)(payload.Length >> 8), (byte)payload.Length]);
        }
        else
        {
            header.Add((byte)(mask | 127));
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            header.AddRange(length);
        }

        var body = payload.ToArray();
        if (key is not null)
        {
            header.AddRange(key);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= key[i % 4];
            }
        }

        return [.. header, .. body];
    }

    private static byte[] Close(int status, string reason, byte[]? key) =>
        Frame(0x8, [(byte)(status >> 8), (byte)status, .. Encoding.UTF8.GetBytes(reason)], key);

    /// <summary>A text frame, a fragmented binary message (16-bit length, then a continuation with a 64-bit length), a ping, a Close, and a frame after it.</summary>
    private static byte[] Conversation(byte[]? key) =>
    [
        .. Frame(0x1, "hello"u8, key),
        .. Frame(0x2, new byte[300], key, fin: false),
        .. Frame(0x0, Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray(), key),
        .. Frame(0x9, [], key),
        .. Close(1001, "going away", key),
        .. Close(1000, "late", key),
    ];

    private static (long Frames, int? Status, int Closes) Read(byte[] bytes, params int[] splits)
    {
        var closes = 0;
        var reader = new WebSocketFrameReader(() => closes++);
        var at = 0;
        foreach (var split in splits.Append(bytes.Length))
        {
            reader.Feed(bytes.AsSpan(at, split - at));
            at = split;
        }

        return (reader.Frames, reader.CloseStatus, closes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Frames_and_the_first_close_status_are_found_at_every_split_point(bool masked)
    {
        var bytes = Conversation(masked ? s_key : null);
        Assert.Equal((6L, (int?)1001, 1), Read(bytes));
        for (var split = 0; split <= bytes.Length; split++)
        {
            Assert.Equal((6L, (int?)1001, 1), Read(bytes, split));
        }
    }

    [Fact]
    public void Every_header_byte_and_both_status_bytes_may_arrive_alone()
    {
        var bytes = Conversation(s_key);
        var oneByOne = Enumerable.Range(1, bytes.Length - 1).ToArray();
        Assert.Equal((6L, (int?)1001, 1), Read(bytes, oneByOne));

        // Three-way splits around the Close frame: through its header, its mask, between its status bytes.
        var close = bytes.Length - Close(1000, "late", s_key).Length - Close(1001, "going away", s_key).Length;
        for (var first = close; first < close + 10; first++)
        {
            for (var second = first; second < close + 10; second++)
            {
                Assert.Equal((6L, (int?)1001, 1), Read(bytes, first, second));
            }
        }
    }

    [Fact]
    public void A_close_frame_without_a_status_closes_with_none()
    {
        var bytes = Frame(0x8, [], s_key);
        Assert.Equal((1L, (int?)null, 1), Read(bytes));
        Assert.Equal((1L, (int?)null, 1), Read(bytes, 1));
    }

    [Fact]
    public void A_connection_cut_inside_a_frame_counts_the_frames_begun_and_no_close()
    {
        // 7 bytes of text frame, 304 of the binary one, then the continuation's 10-byte header and 79 of its payload.
        var bytes = Conversation(null)[..400];
        Assert.Equal((3L, (int?)null, 0), Read(bytes, 3, 200));
        Assert.Equal((2L, (int?)null, 0), Read(bytes[..320], 315));
    }
}
