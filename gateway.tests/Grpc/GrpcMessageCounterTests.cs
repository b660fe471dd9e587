using AuditGateway.Proxy;

namespace AuditGateway.Tests.Grpc;

/// <summary>The gRPC message counter at every split point of its input, and through the counting stream.</summary>
public sealed class GrpcMessageCounterTests
{
    /// <summary>Messages of payload length 0, 1, 4, 300 and 70,000 (a length with every prefix byte in use but the first), one compressed.</summary>
    private static readonly byte[] s_body = Body((0, 0), (0, 1), (1, 4), (0, 300), (0, 70_000));

    private static byte[] Body(params (byte Flag, int Length)[] messages)
    {
        var body = new List<byte>();
        foreach (var (flag, length) in messages)
        {
            body.Add(flag);
            body.AddRange([(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length]);
            body.AddRange(Enumerable.Range(0, length).Select(i => (byte)(i * 7)));
        }

        return [.. body];
    }

    /// <summary>The messages counted in <paramref name="body"/> passed in chunks cut at <paramref name="cuts"/> (ascending).</summary>
    private static long Count(byte[] body, params int[] cuts)
    {
        var counter = new GrpcMessageCounter();
        var from = 0;
        foreach (var cut in cuts.Append(body.Length))
        {
            counter.Add(body.AsSpan(from, cut - from));
            from = cut;
        }

        return counter.Messages;
    }

    [Fact]
    public void A_body_in_one_chunk_counts_each_message()
    {
        Assert.Equal(5, Count(s_body));
        Assert.Equal(0, Count([]));
        Assert.Equal(1, Count([0, 0, 0, 0, 0]));
    }

    [Fact]
    public void Every_split_into_two_and_three_chunks_counts_the_same()
    {
        // Two chunks at every point; three chunks with the second split inside the first 400 bytes (every prefix and the short payloads).
        for (var a = 0; a <= s_body.Length; a++)
        {
            Assert.Equal(5, Count(s_body, a));
        }

        for (var a = 0; a <= 400; a++)
        {
            for (var b = a; b <= 400; b++)
            {
                Assert.Equal(5, Count(s_body, a, b));
            }
        }
    }

    [Fact]
    public void A_byte_at_a_time_counts_each_message_when_its_last_byte_passes()
    {
        var counter = new GrpcMessageCounter();
        var seen = new List<long>();
        foreach (var b in s_body)
        {
            counter.Add([b]);
            seen.Add(counter.Messages);
        }

        // Ends of the messages: 5, 11, 20, 325, 70,330 bytes in.
        int[] ends = [5, 11, 20, 325, 70_330];
        Assert.Equal(ends[^1], s_body.Length);
        for (var i = 0; i < ends.Length; i++)
        {
            Assert.Equal(i, seen[ends[i] - 2]);
            Assert.Equal(i + 1, seen[ends[i] - 1]);
        }
    }

    [Fact]
    public void A_body_cut_short_counts_only_whole_messages()
    {
        Assert.Equal(3, Count(s_body[..20]));
        Assert.Equal(3, Count(s_body[..324]));
        Assert.Equal(4, Count(s_body[..325]));
        Assert.Equal(4, Count(s_body[..329]));
    }

    [Fact]
    public async Task The_counting_stream_counts_messages_read_and_written_in_any_chunks_and_only_for_grpc()
    {
        foreach (var chunk in new[] { 1, 3, 5, 7, 4096 })
        {
            await using var reading = new CountingStream(new MemoryStream(s_body), reading: true, grpc: true);
            var buffer = new byte[chunk];
            while (await reading.ReadAsync(buffer) > 0)
            {
            }

            await using var sink = new MemoryStream();
            await using var writing = new CountingStream(sink, reading: false, grpc: true);
            for (var at = 0; at < s_body.Length; at += chunk)
            {
                await writing.WriteAsync(s_body.AsMemory(at, Math.Min(chunk, s_body.Length - at)));
            }

            Assert.Equal((5, s_body.Length), (reading.Messages, reading.Count));
            Assert.Equal((5, s_body.Length), (writing.Messages, writing.Count));
            Assert.Equal(s_body, sink.ToArray());
        }

        await using var plain = new CountingStream(new MemoryStream(s_body), reading: true);
        await plain.CopyToAsync(Stream.Null);
        Assert.Equal((0, s_body.Length), (plain.Messages, plain.Count));
    }
}
