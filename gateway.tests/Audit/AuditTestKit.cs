using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditGateway.Audit;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;

namespace AuditGateway.Tests.Audit;

/// <summary>A data directory that is deleted after the test.</summary>
internal sealed class TempDataDirectory : IDisposable
{
    public TempDataDirectory()
    {
        Path = Directory.CreateTempSubdirectory("auditgw-test-").FullName;
    }

    public string Path { get; }

    public string Segment0 => LogLayout.SegmentPath(Path, 0);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Result of one in-process CLI run.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Helpers shared by the audit tests: options, sample entries of every kind, the CLI in-process, line surgery.</summary>
internal static class AuditTestKit
{
    public static AuditOptions Options(string data, Func<AuditOptions, AuditOptions>? configure = null)
    {
        // Checkpoints only on open and close unless a test asks for more, so their sizes are known.
        var options = new AuditOptions { DataDirectory = data, NodeId = "test-node", Version = "test", CheckpointInterval = TimeSpan.FromHours(1) };
        return configure is null ? options : configure(options);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(AuditCommands.Create(), args);

    /// <summary>Runs <paramref name="commands"/> in-process as the command line would, capturing both outputs.</summary>
    public static async Task<CliResult> RunAsync(IEnumerable<Command> commands, string[] args)
    {
        var root = new RootCommand("test");
        foreach (var command in commands)
        {
            root.Subcommands.Add(command);
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            return new CliResult(2, "", parse.Errors[0].Message);
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public static Task<CliResult> VerifyAsync(string data, params string[] extra) => RunAsync(["verify", "--data", data, .. extra]);

    /// <summary>Writes <paramref name="count"/> entries cycling through every kind, then closes the log.</summary>
    public static async Task WriteLogAsync(string data, int count, Func<AuditOptions, AuditOptions>? configure = null)
    {
        await using var log = await AuditLog.OpenAsync(Options(data, configure));
        for (var i = 0; i < count; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }
    }

    public static AuditEntry Entry(int i)
    {
        var ts = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddMicroseconds(i * 1001);
        return (i % 4) switch
        {
            0 => SampleEntries.Request(i, ts),
            1 => new AuditEntry(ts, Config()),
            2 => new AuditEntry(ts, new SecurityBody
            {
                Action = SecurityAction.Blocked,
                Subject = "198.51.100." + i,
                By = "probe-detector",
                Reason = "probed /.env",
                Until = ts.AddMinutes(15),
                Evidence = new Dictionary<string, string> { ["paths"] = "/.env,/.git/config", ["count"] = "21" },
            }),
            _ => new AuditEntry(ts, new RequestBody
            {
                Id = "r" + i,
                Method = "POST",
                Scheme = "http",
                Host = "shop.local",
                Path = "/checkout \"quoted\" \\ ünïcödé 🎉 \u0001\t",
                Protocol = "HTTP/1.1",
                Client = new ClientEndpoint("::1", 40000 + i),
                Identity = RequestIdentity.Anonymous,
                Revision = "rev-1",
                Decision = new RequestDecision(Decision.WouldDeny, "method", "POST not allowed"),
                Status = 404,
            }),
        };
    }

    public static ConfigBody Config() => new()
    {
        RevisionBefore = "sha256:aaaa",
        RevisionAfter = "sha256:bbbb",
        Object = new ObjectRef { Kind = "Ingress", Namespace = "shop", Name = "web", Uid = "5f0c", ResourceVersion = "812", Generation = 3 },
        Operation = "update",
        Actor = new ChangeActor { Username = "alice", Groups = ["system:authenticated"], SourceIps = ["10.0.0.5"], UserAgent = "kubectl/v1.31.0", Via = ActorSource.Admission },
        Source = ChangeSource.Kubectl,
        File = new FileRef("manifests/web.yaml", new string('c', 64)),
        Diff = JsonDocument.Parse("""[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/api/v2"},{"op":"add","path":"/metadata/annotations/auditgateway.io~1policy-mode","value":"report-only"},{"op":"add","path":"/spec/x","value":{"n":1.50,"b":true,"z":null}}]""").RootElement,
        Effect = new RouteEffect { Added = ["shop/web/a"], Removed = ["shop/web/b"], Changed = [] },
    };

    public static List<byte[]> ReadLines(string path) =>
        [.. File.ReadAllBytes(path).AsSpan().ToArray().Split((byte)'\n')];

    public static void WriteLines(string path, IEnumerable<byte[]> lines)
    {
        using var file = File.Create(path);
        foreach (var line in lines)
        {
            file.Write(line);
            file.WriteByte((byte)'\n');
        }
    }

    /// <summary>Re-encodes every line from <paramref name="from"/> on with a recomputed prev, as a forger would.</summary>
    public static void RechainFrom(List<byte[]> lines, int from)
    {
        var encoder = new EntryEncoder();
        for (var i = from; i < lines.Count; i++)
        {
            var entry = EntryParser.TryParse(lines[i], out var error) ?? throw new InvalidOperationException(error);
            var prev = i == 0 ? new string('0', 64) : Convert.ToHexStringLower(SHA256.HashData(lines[i - 1]));
            encoder.Encode(entry with { Prev = prev });
            lines[i] = encoder.Line.ToArray();
        }
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static IEnumerable<byte[]> Split(this byte[] bytes, byte separator)
    {
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == separator)
            {
                yield return bytes[start..i];
                start = i + 1;
            }
        }

        if (start < bytes.Length)
        {
            yield return bytes[start..];
        }
    }
}
