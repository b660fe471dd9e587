using System.Buffers.Binary;

namespace AuditGateway.Audit.Notes;

/// <summary>One signature line of a note: the key name, the 4-byte key id and the signature bytes.</summary>
internal sealed record NoteSignature(string Name, uint KeyId, byte[] Signature);

/// <summary>
/// A C2SP signed note: text (ending in a newline), a blank line, then signature lines
/// <c>— name base64(keyid || signature)</c>.
/// </summary>
internal sealed record SignedNote(string Text, IReadOnlyList<NoteSignature> Signatures)
{
    private const string SignaturePrefix = "\u2014 ";

    public static bool TryParse(string note, out SignedNote? parsed)
    {
        parsed = null;
        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !note.EndsWith('\n'))
        {
            return false;
        }

        var text = note[..(split + 1)];
        var signatures = new List<NoteSignature>();
        foreach (var line in note[(split + 2)..^1].Split('\n'))
        {
            if (!line.StartsWith(SignaturePrefix, StringComparison.Ordinal))
            {
                return false;
            }

            var rest = line[SignaturePrefix.Length..];
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0)
            {
                return false;
            }

            byte[] blob;
            try
            {
                blob = Convert.FromBase64String(rest[(space + 1)..]);
            }
            catch (FormatException)
            {
                return false;
            }

            if (blob.Length < 5)
            {
                return false;
            }

            signatures.Add(new NoteSignature(rest[..space], BinaryPrimitives.ReadUInt32BigEndian(blob), blob[4..]));
        }

        if (signatures.Count == 0 || text.Length == 0)
        {
            return false;
        }

        parsed = new SignedNote(text, signatures);
        return true;
    }

    public override string ToString()
    {
        var sb = new System.Text.StringBuilder(Text).Append('\n');
        foreach (var s in Signatures)
        {
            var blob = new byte[4 + s.Signature.Length];
            BinaryPrimitives.WriteUInt32BigEndian(blob, s.KeyId);
            s.Signature.CopyTo(blob, 4);
            sb.Append(SignaturePrefix).Append(s.Name).Append(' ').Append(Convert.ToBase64String(blob)).Append('\n');
        }

        return sb.ToString();
    }
}
