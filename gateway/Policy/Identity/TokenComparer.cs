namespace AuditGateway.Policy.Identity;

/// <summary>
/// Compares tokens by their exact text, but hashes only their length and last <see cref="Tail"/>
/// characters: the signature, which differs between any two tokens. A JWT is several hundred
/// characters, and hashing it all cost as much as the rest of the lookup. The hash is the
/// runtime's randomized string hash, and only verified tokens are ever stored, so nobody can
/// fill a bucket on purpose.
/// </summary>
internal sealed class TokenComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly TokenComparer Instance = new();

    private const int Tail = 32;

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<char> alternate) => Hash(alternate);

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();

    private static int Hash(ReadOnlySpan<char> token) =>
        HashCode.Combine(token.Length, string.GetHashCode(token[Math.Max(0, token.Length - Tail)..], StringComparison.Ordinal));
}
