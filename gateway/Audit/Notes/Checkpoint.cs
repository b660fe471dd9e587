using System.Globalization;

namespace AuditGateway.Audit.Notes;

/// <summary>A C2SP tlog-checkpoint: origin, tree size, root hash (the body of a signed note).</summary>
internal sealed record Checkpoint(string Origin, long Size, byte[] Root)
{
    public const string OriginPrefix = "auditgateway/";

    public static string OriginOf(string node) => OriginPrefix + node;

    public string ToText() => $"{Origin}\n{Size.ToString(CultureInfo.InvariantCulture)}\n{Convert.ToBase64String(Root)}\n";

    /// <summary>Parses the note text of a checkpoint; extension lines after the root are allowed and ignored.</summary>
    public static bool TryParse(string text, out Checkpoint? checkpoint)
    {
        checkpoint = null;
        var lines = text.Split('\n');
        if (lines.Length < 4 || lines[^1].Length != 0 || lines[0].Length == 0)
        {
            return false;
        }

        var size = lines[1];
        if (size.Length == 0 || (size.Length > 1 && size[0] == '0') || !size.All(char.IsAsciiDigit)
            || !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        byte[] root;
        try
        {
            root = Convert.FromBase64String(lines[2]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (root.Length != Merkle.MerkleHash.Size)
        {
            return false;
        }

        checkpoint = new Checkpoint(lines[0], n, root);
        return true;
    }
}
