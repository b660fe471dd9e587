namespace AuditGateway.Audit.Hashing;

/// <summary>
/// The SHA-256 implementations this machine has, right or not (the self-test decides that): .NET's
/// always; OpenSSL's digest functions where libcrypto 3 loads; the AVX-512 lanes, over the better of
/// the other two, where 512-bit vectors are hardware-accelerated.
/// </summary>
internal static class Sha256Implementations
{
    public static DotNetSha256 DotNet { get; } = new();

    public static OpenSslSha256? OpenSsl { get; } = OpenSslSha256.TryLoad();

    /// <summary>The single-stream implementations, fastest first.</summary>
    public static IReadOnlyList<ISha256> SingleStream { get; } = OpenSsl is null ? [DotNet] : [OpenSsl, DotNet];

    public static LaneSha256? Lanes { get; } = Sha256x16.IsSupported ? new LaneSha256(SingleStream[0]) : null;

    /// <summary>Every implementation present, fastest first.</summary>
    public static IReadOnlyList<ISha256> Present { get; } = Lanes is null ? SingleStream : [Lanes, .. SingleStream];
}
