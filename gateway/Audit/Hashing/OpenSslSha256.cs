using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AuditGateway.Audit.Hashing;

/// <summary>
/// SHA-256 through OpenSSL's digest functions themselves (<c>SHA256_Init</c>, <c>_Update</c>,
/// <c>_Final</c> in libcrypto 3), which the log calls two or three times per entry. .NET's hashing
/// on Linux goes through OpenSSL's EVP layer, whose per-call set-up costs more than hashing a whole
/// 1 KB line here (loadtest/bench <c>HashBenchmarks</c>: a 65-byte tree node 575 ns through
/// <c>IncrementalHash</c>, about 100 ns here). Present only where libcrypto 3 and these functions
/// are (<see cref="TryLoad"/>); like every implementation, used only once it passed the self-test.
/// </summary>
internal sealed partial class OpenSslSha256 : ISha256
{
    private const string Library = "libcrypto.so.3";

    /// <summary>Up to this many bytes (about 2 µs of hashing), Update skips the GC transition.</summary>
    private const int ShortInput = 2048;

    private OpenSslSha256()
    {
    }

    public string Name => "openssl";

    public int Lanes => 1;

    /// <summary>The implementation, or null where libcrypto 3 or its SHA256 functions are missing (off Linux, in a minimal image).</summary>
    public static OpenSslSha256? TryLoad()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Library, out var library))
        {
            return null;
        }

        var present = NativeLibrary.TryGetExport(library, "SHA256_Init", out _)
            && NativeLibrary.TryGetExport(library, "SHA256_Update", out _)
            && NativeLibrary.TryGetExport(library, "SHA256_Final", out _);
        return present ? new OpenSslSha256() : null;
    }

    /// <summary>SHA-256 of <paramref name="data"/> into the first 32 bytes of <paramref name="destination"/>.</summary>
    /// <remarks>
    /// OpenSSL's SHA-NI code is legacy SSE. Entered while the upper halves of the vector registers
    /// are in use (after the writer's AVX-512 code, or any JIT-compiled 256-bit copy or zeroing), each
    /// call paid an AVX-to-SSE transition: about 150 ns on this project's machine, more than hashing
    /// a 65-byte tree node (loadtest/bench <c>HashBenchmarks.NodeOpenSslDirect</c>: 279 ns before,
    /// 103 ns after). The JIT clears that state with <c>vzeroupper</c> in the prolog of a method that
    /// uses wide vectors (as this one does, zeroing its locals), but not before a P/Invoke inlined into
    /// a caller, nor after a 256-bit instruction later in the method. So this method is never inlined,
    /// leaves the context to <c>SHA256_Init</c> rather than zeroing it again after the prolog, and
    /// keeps the ordinary-transition P/Invoke (whose frame set-up runs at entry) in a method of its own.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (destination.Length < ISha256.Size)
        {
            throw new ArgumentException("the destination holds less than 32 bytes", nameof(destination));
        }

        Unsafe.SkipInit(out Context context);
        if (Init(ref context) != 1 || Update(ref context, data) != 1 || Final(destination, ref context) != 1)
        {
            throw new System.Security.Cryptography.CryptographicException("OpenSSL SHA256 failed");
        }
    }

    public void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination) =>
        PrefixedSha256.HashEach(this, prefix, data, messages, destination);

    private static int Update(ref Context context, ReadOnlySpan<byte> data) => data.Length <= ShortInput
        ? UpdateShort(ref context, data, (nuint)data.Length)
        : UpdateLong(ref context, data, (nuint)data.Length);

    /// <summary>OpenSSL's <c>SHA256_CTX</c>: 8 + 2 + 16 + 2 32-bit words.</summary>
    [InlineArray(28)]
    private struct Context
    {
        private uint _word;
    }

    // Init, Final and a short Update run in well under a microsecond and never block, so they skip the
    // GC transition (a GC waits for them to return). A long input goes through the ordinary transition.
    [LibraryImport(Library, EntryPoint = "SHA256_Init")]
    [SuppressGCTransition]
    private static partial int Init(ref Context context);

    [LibraryImport(Library, EntryPoint = "SHA256_Update")]
    [SuppressGCTransition]
    private static partial int UpdateShort(ref Context context, ReadOnlySpan<byte> data, nuint length);

    // Never inlined: its GC-transition frame set-up would run at every Hash's entry (see Hash).
    [LibraryImport(Library, EntryPoint = "SHA256_Update")]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static partial int UpdateLong(ref Context context, ReadOnlySpan<byte> data, nuint length);

    [LibraryImport(Library, EntryPoint = "SHA256_Final")]
    [SuppressGCTransition]
    private static partial int Final(Span<byte> digest, ref Context context);
}
