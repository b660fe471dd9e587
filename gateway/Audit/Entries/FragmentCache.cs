using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// The encoded JSON of a few immutable objects, found by reference: a direct-mapped table of
/// <see cref="Slots"/> entries, where a newcomer replaces whatever shared its slot. Bounded, so it
/// never holds more than that many old objects alive. Not thread-safe: one per encoder.
/// </summary>
internal sealed class FragmentCache
{
    private const int Slots = 64;

    private readonly object?[] _keys = new object?[Slots];
    private readonly byte[][] _json = new byte[Slots][];

    public bool TryGet(object key, out int slot, [NotNullWhen(true)] out byte[]? json)
    {
        slot = RuntimeHelpers.GetHashCode(key) & (Slots - 1);
        if (ReferenceEquals(_keys[slot], key))
        {
            json = _json[slot];
            return true;
        }

        json = null;
        return false;
    }

    public void Set(int slot, object key, ReadOnlySpan<byte> json)
    {
        _json[slot] = json.ToArray();
        _keys[slot] = key;
    }
}
