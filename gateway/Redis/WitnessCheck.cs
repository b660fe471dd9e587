using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;
using AuditGateway.Configuration;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// <c>auditgw verify --redis</c>: the log against the checkpoints its node published to Redis
/// (<see cref="CheckpointWitness"/>). A witnessed note must be a checkpoint of the node's origin with a
/// valid signature by the log's public key; one that is not is reported and not used. Of the rest, one
/// larger than the log says the log was truncated; one the log covers whose root is not the log's at
/// that size says the log was rewritten after it was published, or, when a larger witnessed checkpoint
/// agrees with the log, that the two are not consistent (a fork), as two of one size with different
/// roots are. The log's roots come from the checkpoints <c>verify</c> has just checked and the root at
/// its end, and from one pass over the log for witnessed sizes without a local checkpoint (or when the
/// log did not verify). Witnessed sizes before a pruned log's start are counted, not checked (unless
/// <c>--archive</c> verified them).
/// </summary>
internal sealed class WitnessCheck : ILogWitness
{
    /// <summary>How long the CLI waits for Redis (the gateway's <c>redis.timeout</c> is for the request path).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly string _origin;
    private readonly RedisKey _key;
    private readonly string[] _notes;

    private WitnessCheck(string node, string[] notes)
    {
        Node = node;
        _origin = Checkpoint.OriginOf(node);
        _key = CheckpointWitness.KeyOf(node);
        _notes = notes;
    }

    /// <summary>The node whose log it is, as its entries (or its newest checkpoint) name it.</summary>
    public string Node { get; }

    /// <summary>
    /// Reads the witnessed checkpoints of the log's node from the Redis at <paramref name="url"/>. Fetch
    /// them before reading the log: every checkpoint Redis holds then covers entries already durable.
    /// </summary>
    /// <exception cref="IOException">Redis does not answer.</exception>
    /// <exception cref="InvalidOperationException">No key, no node, or nothing witnessed.</exception>
    public static async Task<ILogWitness> FetchAsync(string url, string dataDirectory, ECDsa? publicKey)
    {
        RedisOptions options;
        try
        {
            options = RedisOptions.FromUrl(url) with { Timeout = Timeout };
        }
        catch (OptionException e)
        {
            throw new FormatException("--redis " + e.Message.Replace("redis.connection ", "", StringComparison.Ordinal));
        }

        if (publicKey is null)
        {
            throw new InvalidOperationException("--redis needs the signer's public key to check the witnessed checkpoints: pass --public-key");
        }

        if (!Directory.Exists(LogLayout.LogDirectory(dataDirectory)))
        {
            throw new DirectoryNotFoundException($"{LogLayout.LogDirectory(dataDirectory)} does not exist");
        }

        var node = NodeOf(dataDirectory)
            ?? throw new InvalidOperationException("the log names no node (no entry, no checkpoint): cannot tell which witnessed checkpoints are its");
        SortedSetEntry[] members;
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options.ToConfiguration("auditgw-verify"));
            members = await connection.GetDatabase().SortedSetRangeByRankWithScoresAsync(CheckpointWitness.KeyOf(node));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new IOException($"--redis {options.Url}: Redis does not answer ({FirstLine(e.Message)})");
        }

        return members.Length == 0
            ? throw new InvalidOperationException($"Redis {options.Url} holds no witnessed checkpoints of node {node} ({CheckpointWitness.KeyOf(node)} is empty): nothing to check the log against")
            : new WitnessCheck(node, [.. members.Select(m => (string)m.Element!)]);
    }

    public WitnessReport Check(string dataDirectory, VerifyResult result, ECDsa publicKey, ISha256 sha)
    {
        var findings = new List<WitnessFinding>();
        var trusted = Trusted(publicKey, findings);
        var sizes = trusted.Keys.ToList();
        var (size, roots) = LogRoots(dataDirectory, result, sizes, sha);

        // In size order: which witnessed checkpoints the log agrees with, and which it does not.
        var agreed = new List<long>();
        var disagreed = new List<long>();
        var forks = new List<WitnessFinding>();
        var notChecked = 0;
        foreach (var witnessed in sizes)
        {
            var (root, other) = (trusted[witnessed][0], trusted[witnessed].ElementAtOrDefault(1));
            var has = witnessed <= size ? roots.GetValueOrDefault(witnessed) : null;
            if (other is not null)
            {
                var which = has is null ? "" : has.AsSpan().SequenceEqual(root) ? $"; the log has {Hex(root)}" : has.AsSpan().SequenceEqual(other) ? $"; the log has {Hex(other)}" : "; the log has neither";
                forks.Add(new WitnessFinding(LastBelow(agreed, witnessed),
                    $"fork: {Node} signed two checkpoints of size {witnessed} with different roots, {Hex(root)} and {Hex(other)}, both witnessed in {_key}{which}"));
            }
            else if (witnessed > size)
            {
                continue;
            }
            else if (has is null)
            {
                notChecked++;
            }
            else if (has.AsSpan().SequenceEqual(root))
            {
                agreed.Add(witnessed);
            }
            else
            {
                disagreed.Add(witnessed);
            }
        }

        var newestAgreed = agreed.Count > 0 ? agreed[^1] : -1;
        foreach (var witnessed in disagreed.Where(s => s < newestAgreed))
        {
            var below = LastBelow(agreed, witnessed);
            var above = agreed.First(s => s > witnessed);
            forks.Add(new WitnessFinding(below,
                $"fork: the checkpoints of size {witnessed} and {above} witnessed in {_key} are both signed by {Node} but are not consistent: the log agrees with the one of size {above}, not with the one of size {witnessed} (root {Hex(trusted[witnessed][0])}, the log's is {Hex(roots[witnessed])})"));
        }

        Collapse(findings, forks, "forks");
        if (disagreed.Where(s => s > newestAgreed).ToList() is [var first, .. var later])
        {
            var below = LastBelow(agreed, first);
            var more = later.Count > 0 ? $"; {later.Count} later witnessed checkpoint(s) disagree too" : "";
            findings.Add(new WitnessFinding(below,
                $"rewritten: Redis witnessed the checkpoint of size {first} signed by {Node} with root {Hex(trusted[first][0])}, but the log's root at that size is {Hex(roots[first])}: "
                + $"entries in [{below}, {first}) were changed after it was published{more}"));
        }

        if (sizes.Count > 0 && sizes[^1] > size)
        {
            var beyond = sizes.Count(s => s > size);
            var more = beyond > 1 ? $" ({beyond} witnessed checkpoints are larger than the log)" : "";
            findings.Add(new WitnessFinding(size,
                $"truncated: the log has {size} entries but Redis witnessed a checkpoint of size {sizes[^1]} signed by {Node}: entries {size}..{sizes[^1] - 1} are missing (truncated after the last local checkpoint?){more}"));
        }

        var pruned = notChecked > 0 ? $"; {notChecked} before the log's start not checked (pruned: verify with --archive)" : "";
        return new WitnessReport(findings, $"witnessed={agreed.Count} (all agree, newest size {(sizes.Count > 0 ? sizes[^1] : 0)}, {_key}{pruned})");
    }

    /// <summary>The witnessed checkpoints that are trusted, by size, each with its distinct roots; the others are reported in <paramref name="findings"/>.</summary>
    private SortedDictionary<long, List<byte[]>> Trusted(ECDsa publicKey, List<WitnessFinding> findings)
    {
        using var verifier = NoteVerifier.FromPublicKey(_origin, publicKey);
        var trusted = new SortedDictionary<long, List<byte[]>>();
        var untrusted = new List<WitnessFinding>();
        foreach (var note in _notes)
        {
            var parsed = CheckpointStore.TryParse(note, out var error);
            if (parsed is null)
            {
                untrusted.Add(new WitnessFinding(null, $"a member of {_key} is {error} ({note.Length} characters): not trusted"));
            }
            else if (parsed.Checkpoint.Origin != _origin)
            {
                untrusted.Add(new WitnessFinding(null, $"the checkpoint of size {parsed.Checkpoint.Size} in {_key} has origin {parsed.Checkpoint.Origin}, not {_origin}: not trusted"));
            }
            else if (!verifier.Verify(parsed.Note))
            {
                untrusted.Add(new WitnessFinding(null, $"the checkpoint of size {parsed.Checkpoint.Size} in {_key} does not carry a valid signature by the public key: not trusted"));
            }
            else
            {
                var cp = parsed.Checkpoint;
                if (!trusted.TryGetValue(cp.Size, out var roots))
                {
                    trusted[cp.Size] = roots = [];
                }

                if (!roots.Any(r => r.AsSpan().SequenceEqual(cp.Root)))
                {
                    roots.Add(cp.Root);
                }
            }
        }

        Collapse(findings, untrusted, "untrusted members");
        return trusted;
    }

    /// <summary>
    /// The log's size and its roots at the <paramref name="wanted"/> sizes it covers from its start on. When the
    /// log verified, every checkpoint in <c>checkpoints/</c> from where verify began to the log's end has just
    /// been checked against it, and so has its root at the end; the rest come from one pass over the log.
    /// </summary>
    private static (long Size, Dictionary<long, byte[]> Roots) LogRoots(string data, VerifyResult result, List<long> wanted, ISha256 sha)
    {
        if (!result.Intact)
        {
            return Pass(data, [.. wanted], long.MaxValue, sha);
        }

        var size = result.Entries;
        var roots = new Dictionary<long, byte[]> { [size] = result.Root };
        foreach (var file in LogLayout.Checkpoints(data).Where(f => f.FirstSeq >= result.FirstSeq && f.FirstSeq <= size))
        {
            if (CheckpointStore.TryRead(file.Path, out _) is { } local && local.Checkpoint.Size == file.FirstSeq)
            {
                roots[file.FirstSeq] = local.Checkpoint.Root;
            }
        }

        var missing = wanted.Where(s => s <= size && !roots.ContainsKey(s)).ToHashSet();
        if (missing.Count > 0)
        {
            foreach (var (at, root) in Pass(data, missing, missing.Max(), sha).Roots)
            {
                roots[at] = root;
            }
        }

        return (size, roots);
    }

    /// <summary>Reads the log from its start (up to <paramref name="until"/> entries), noting the root at each wanted size.</summary>
    private static (long Size, Dictionary<long, byte[]> Roots) Pass(string data, HashSet<long> wanted, long until, ISha256 sha)
    {
        var roots = new Dictionary<long, byte[]>();
        using var reader = new LogReader(data);
        var tree = MerkleFrontier.Restore(sha, reader.Start.Seq, reader.Start.Frontier);
        if (wanted.Contains(tree.Size))
        {
            roots[tree.Size] = tree.Root();
        }

        Span<byte> leaf = stackalloc byte[MerkleHash.Size];
        while (tree.Size < until && reader.Read())
        {
            if (reader.Unterminated)
            {
                continue;
            }

            MerkleHash.Leaf(sha, reader.Line, leaf);
            tree.Append(leaf);
            if (wanted.Contains(tree.Size))
            {
                roots[tree.Size] = tree.Root();
            }
        }

        return (tree.Size, roots);
    }

    /// <summary>The node of the log's first entry, else of its newest checkpoint; null when it has neither.</summary>
    private static string? NodeOf(string data)
    {
        using (var reader = new LogReader(data))
        {
            while (reader.Read())
            {
                if (!reader.Unterminated && EntryParser.TryParse(reader.Line, out _) is { } entry)
                {
                    return entry.Node;
                }
            }
        }

        var latest = LogLayout.LatestCheckpoint(data);
        return File.Exists(latest) && CheckpointStore.TryRead(latest, out _)?.Checkpoint.Origin is { } origin && origin.StartsWith(Checkpoint.OriginPrefix, StringComparison.Ordinal)
            ? origin[Checkpoint.OriginPrefix.Length..]
            : null;
    }

    /// <summary>The largest agreeing size below <paramref name="size"/>: where the entries in question begin.</summary>
    private static long LastBelow(List<long> agreed, long size) => agreed.LastOrDefault(s => s < size, 0);

    /// <summary>Adds the first of <paramref name="found"/>, saying how many more like it there are.</summary>
    private static void Collapse(List<WitnessFinding> findings, List<WitnessFinding> found, string what)
    {
        if (found is [var first, .. var rest])
        {
            findings.Add(rest.Count == 0 ? first : first with { Reason = $"{first.Reason} (and {rest.Count} more {what})" });
        }
    }

    private static string Hex(byte[] root) => Convert.ToHexStringLower(root);

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
