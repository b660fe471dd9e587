using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.Audit.HashMessages;

namespace AuditGateway.Tests.Audit;

/// <summary>The multi-lane SHA-256 against the platform's SHA-256 and the RFC 6962 leaf vectors.</summary>
public sealed class Sha256x16Tests
{
    [Fact]
    public void Leaf_hashes_match_the_rfc6962_vectors()
    {
        var vectors = Fixtures.Load("merkle/rfc6962-vectors.json").RootElement;
        var leaves = Fixtures.HexList(vectors.GetProperty("leaves_hex"));
        var expected = Fixtures.HexList(vectors.GetProperty("leaf_hashes_hex"));
        var (data, messages) = Pack(leaves);

        var actual = HashOrRefuse(0x00, data, messages);

        if (actual is not null)
        {
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Every_length_around_the_block_and_padding_boundaries_matches_sha256()
    {
        // 0 to 200 bytes covers: no whole block, a tail that needs a second padding block (55..63
        // bytes with the prefix), exact multiples of 64, and messages of one to three blocks.
        var random = new Random(6962);
        var lengths = Enumerable.Range(0, 201).Concat([1_000, 1_041, 4_095, 4_096]).ToList();
        for (var first = 0; first < lengths.Count; first += 7)
        {
            var group = lengths.Skip(first).Take(1 + (first % Sha256x16.Lanes)).ToList();
            var messages = group.Select(n => RandomBytes(random, n)).ToList();
            // No prefix: the chain hashes of a verified block; with whole blocks all read in place.
            foreach (var prefix in new byte?[] { null, 0x00, 0x01, 0xff })
            {
                var (data, spans) = Pack(messages);

                var actual = HashOrRefuse(prefix, data, spans);

                if (actual is not null)
                {
                    Assert.Equal(messages.Select(m => SHA256.HashData(prefix is { } p ? [p, .. m] : m)), actual);
                }
            }
        }
    }

    [Fact]
    public void Messages_are_read_where_they_lie_in_a_shared_buffer()
    {
        // Lines in a batch are separated by newlines and need not start at 0; the bytes around a
        // message must not leak into its hash.
        var random = new Random(16);
        var data = RandomBytes(random, 20_000);
        var spans = Enumerable.Range(0, Sha256x16.Lanes).Select(i => (Start: 1 + (i * 1_201), Length: 900 + (i * 17))).ToArray();

        var leaves = HashOrRefuse(0x00, data, spans);
        var plain = HashOrRefuse(null, data, spans);

        if (leaves is not null && plain is not null)
        {
            Assert.Equal(spans.Select(s => SHA256.HashData([0x00, .. data.AsSpan(s.Start, s.Length)])), leaves);
            Assert.Equal(spans.Select(s => SHA256.HashData(data.AsSpan(s.Start, s.Length))), plain);
        }
    }

    [Fact]
    public void More_than_sixteen_messages_or_a_message_outside_the_data_are_refused()
    {
        var data = new byte[100];
        var destination = new byte[17 * MerkleHash.Size];

        Assert.ThrowsAny<Exception>(() => Sha256x16.HashPrefixed(0, data, Enumerable.Repeat((0, 10), 17).ToArray(), destination));
        Assert.ThrowsAny<Exception>(() => Sha256x16.HashPrefixed(0, data, new[] { (95, 10) }, destination));
    }

    /// <summary>The hashes (after <paramref name="prefix"/>, or of the messages alone), or null after checking that a CPU without AVX-512 is refused plainly.</summary>
    private static List<byte[]>? HashOrRefuse(byte? prefix, byte[] data, (int Start, int Length)[] messages)
    {
        var destination = new byte[messages.Length * MerkleHash.Size];
        void Hash()
        {
            if (prefix is { } p)
            {
                Sha256x16.HashPrefixed(p, data, messages, destination);
            }
            else
            {
                Sha256x16.Hash(data, messages, destination);
            }
        }

        if (!Sha256x16.IsSupported)
        {
            Assert.Throws<PlatformNotSupportedException>(Hash);
            return null;
        }

        Hash();
        return destination.Chunk(MerkleHash.Size).ToList();
    }
}
