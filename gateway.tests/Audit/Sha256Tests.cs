using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Hosting;

using static AuditGateway.Tests.Audit.HashMessages;

using AuditGateway.Configuration;

namespace AuditGateway.Tests.Audit;

/// <summary>Every SHA-256 implementation this machine has, against .NET's; the self-test that picks one; the <c>audit.sha256</c> switch.</summary>
public sealed class Sha256Tests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Present => [.. Sha256Implementations.Present.Select(s => s.Name)];

    [Fact]
    public void This_machine_has_dotnet_and_openssl_and_the_lanes_exactly_where_512_bit_vectors_are_accelerated()
    {
        var names = Sha256Implementations.Present.Select(s => s.Name).ToList();

        Assert.Contains("dotnet", names);
        Assert.Contains("openssl", names);
        Assert.Equal(Vector512.IsHardwareAccelerated, names.Contains("avx512x16+openssl"));
        Assert.Equal(Vector512.IsHardwareAccelerated ? 3 : 2, names.Count);
    }

    [Theory]
    [MemberData(nameof(Present))]
    public void Each_implementation_matches_dotnet_on_random_messages_of_every_length_around_the_blocks(string name)
    {
        var sha = Sha256Implementations.Present.Single(s => s.Name == name);
        var random = new Random(6962);
        var lengths = Enumerable.Range(0, 300).Concat(Enumerable.Range(2040, 16)).Concat([4095, 4096, 4097, 65_536 + 7]).ToList();
        var destination = new byte[40];
        foreach (var length in lengths)
        {
            var message = RandomBytes(random, length);

            sha.Hash(message, destination);

            Assert.True(SHA256.HashData(message).AsSpan().SequenceEqual(destination.AsSpan(0, 32)), $"{name}: a {length}-byte message");
        }

        Assert.Equal(320, lengths.Count);
    }

    [Theory]
    [MemberData(nameof(Present))]
    public void Each_implementation_matches_dotnet_on_batches_of_prefixed_messages_of_every_size(string name)
    {
        // Up to 20 messages: more than one pass over 16 lanes, with a remainder hashed one by one.
        var sha = Sha256Implementations.Present.Single(s => s.Name == name);
        var random = new Random(16);
        var batches = 0;
        for (var count = 0; count <= 20; count++)
        {
            var messages = Enumerable.Range(0, count).Select(_ => RandomBytes(random, random.Next(0, 2200))).ToList();
            var (data, spans) = Pack(messages);
            foreach (var prefix in new byte[] { 0x00, 0x01, 0xff })
            {
                var destination = new byte[count * 32];

                sha.HashPrefixed(prefix, data, spans, destination);

                Assert.Equal(messages.Select(m => SHA256.HashData([prefix, .. m])), destination.Chunk(32));
                batches++;
            }
        }

        Assert.Equal(63, batches);
    }

    [Theory]
    [MemberData(nameof(Present))]
    public void Each_implementation_passes_the_self_test(string name) =>
        Assert.Null(Sha256SelfTest.Problem(Sha256Implementations.Present.Single(s => s.Name == name)));

    [Fact]
    public void The_self_test_refuses_implementations_wrong_at_one_boundary_or_in_batches_or_missing_and_falls_back_to_dotnet()
    {
        var selected = Sha256Selection.Choose(
        [
            new Wrong("wrong-at-56", wrongLength: 56, wrongInBatch: -1),
            new Wrong("wrong-in-batches", wrongLength: -1, wrongInBatch: 13),
            new Missing(),
            Sha256Implementations.DotNet,
        ]);

        Assert.Same(Sha256Implementations.DotNet, selected.Sha256);
        var refused = selected.Refused!.Split("; ");
        Assert.Equal(3, refused.Length);
        Assert.Equal("wrong-at-56: wrong hash of a 56-byte message", refused[0]);
        Assert.Matches(@"^wrong-in-batches: wrong hash of prefix 0x00 and a \d+-byte message, message 14 of a batch of 14$", refused[1]);
        Assert.Equal("missing: threw DllNotFoundException: libnothing.so", refused[2]);
    }

    [Fact]
    public void Lanes_that_fail_the_self_test_leave_the_single_stream_implementation_under_them()
    {
        var single = Sha256Selection.Choose([Sha256Implementations.DotNet]);

        var selected = Sha256Selection.Over(single, _ => new Wrong("lanes", wrongLength: -1, wrongInBatch: 0));

        Assert.Same(Sha256Implementations.DotNet, selected.Sha256);
        Assert.StartsWith("lanes: wrong hash of prefix 0x00", selected.Refused, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_that_passes_the_self_test_is_an_error()
    {
        var error = Assert.Throws<CryptographicException>(() => Sha256Selection.Choose([new Missing()]));
        Assert.Contains("missing: threw DllNotFoundException", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_is_the_fastest_implementation_present_and_dotnet_is_dotnet()
    {
        var auto = Sha256Selection.Select(Sha256Choice.Auto);
        var dotNet = Sha256Selection.Select(Sha256Choice.DotNet);

        Assert.Equal(Sha256Implementations.Present[0].Name, auto.Sha256.Name);
        Assert.Null(auto.Refused);
        Assert.Same(Sha256Implementations.DotNet, dotNet.Sha256);
        Assert.Null(dotNet.Refused);
    }

    [Theory]
    [InlineData(null, "Auto")]
    [InlineData("auto", "Auto")]
    [InlineData("dotnet", "DotNet")]
    public void The_config_file_key_audit_sha256_chooses(string? value, string expected)
    {
        var settings = Parse(value is null ? "audit:\n  flushInterval: 50ms\n" : $"audit:\n  sha256: {value}\n");
        Assert.Equal(expected, settings.Audit.Sha256.ToString());
    }

    [Theory]
    [InlineData("fips")]
    [InlineData("DotNet")]
    [InlineData("openssl")]
    public void An_unknown_audit_sha256_stops_start_up_naming_the_key_the_value_and_what_is_expected(string value)
    {
        var error = Assert.Throws<OptionException>(() => Parse($"audit:\n  sha256: {value}\n"));
        Assert.EndsWith($": audit.sha256 '{value}': expected auto or dotnet", error.Message, StringComparison.Ordinal);
    }

    private GatewaySettings Parse(string yaml)
    {
        var config = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(config, yaml);
        var options = new GatewayOptions { Config = config, File = ConfigFile.Load(config), Data = _dir.Path, Node = "test-node" };
        return GatewaySettings.Parse(options, TimeProvider.System);
    }

    /// <summary>.NET's SHA-256 but wrong for one message length, or for one message of every batch (-1: never).</summary>
    private sealed class Wrong(string name, int wrongLength, int wrongInBatch) : ISha256
    {
        public string Name => name;

        public int Lanes => 16;

        public void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
        {
            SHA256.HashData(data, destination);
            destination[0] ^= data.Length == wrongLength ? (byte)1 : (byte)0;
        }

        public void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
        {
            PrefixedSha256.HashEach(this, prefix, data, messages, destination);
            if (wrongInBatch >= 0 && wrongInBatch < messages.Length)
            {
                destination[wrongInBatch * 32] ^= 1;
            }
        }
    }

    /// <summary>An implementation whose library is not there.</summary>
    private sealed class Missing : ISha256
    {
        public string Name => "missing";

        public int Lanes => 1;

        public void Hash(ReadOnlySpan<byte> data, Span<byte> destination) => throw new DllNotFoundException("libnothing.so");

        public void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination) =>
            throw new DllNotFoundException("libnothing.so");
    }
}
