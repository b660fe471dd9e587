using System.CommandLine;
using System.Security.Cryptography;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Audit.Cli;

/// <summary>The log's verbs: verify, proof, tail, keygen (and the hidden audit-load). Added to the root command by the host.</summary>
internal static partial class AuditCommands
{
    public const int Intact = 0;
    public const int Tampered = 1;
    public const int UsageError = 2;

    public static IEnumerable<Command> Create(params IReadOnlyList<DerivedDataCheckFactory> checks) => Create(TimeProvider.System, checks);

    /// <summary>
    /// The verbs, with <paramref name="time"/> for <c>tail --follow</c>'s polling and <c>audit-load</c>'s
    /// timestamps, and the derived data <c>verify</c> checks too (<paramref name="checks"/>: the rollups, from Reports/).
    /// </summary>
    public static IEnumerable<Command> Create(TimeProvider time, params IReadOnlyList<DerivedDataCheckFactory> checks) => Create(time, null, null, checks);

    /// <summary>
    /// The verbs as above; with <paramref name="streamTail"/>, <c>tail</c> also reads the nodes' entry streams in
    /// Redis, and with <paramref name="witness"/>, <c>verify</c> checks the log against the checkpoints witnessed
    /// there (both <c>--redis</c>).
    /// </summary>
    public static IEnumerable<Command> Create(TimeProvider time, EntryStreamTail? streamTail, LogWitnessSource? witness, params IReadOnlyList<DerivedDataCheckFactory> checks) =>
        [Verify(checks, witness), Proof(), Tail(time, streamTail), Keygen(), Load(time)];

    public static Option<string> DataOption() => new("--data")
    {
        Description = "The gateway's data directory (log/, checkpoints/, keys/).",
        Required = true,
    };

    /// <summary>Runs a verb body, turning I/O and input problems into one line on stderr and exit code 2.</summary>
    public static Task<int> Guard(ParseResult result, string verb, Func<int> body) =>
        Guard(result, verb, () => Task.FromResult(body()));

    private static async Task<int> Guard(ParseResult result, string verb, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException
            or InvalidOperationException or ArgumentException or InvalidDataException or CryptographicException)
        {
            var message = ex is ArgumentException { ParamName: { } name } ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
            await result.InvocationConfiguration.Error.WriteLineAsync($"auditgw {verb}: {message}");
            return UsageError;
        }
    }
}
