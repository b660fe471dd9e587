using System.Security.Cryptography;

namespace AuditGateway.Audit.Notes;

/// <summary>ECDSA P-256 key pairs as PEM files: <c>signing.pem</c> (PKCS#8) and <c>signing.pub.pem</c> (SubjectPublicKeyInfo).</summary>
internal static class SigningKeys
{
    public const string PrivateKeyFile = "signing.pem";
    public const string PublicKeyFile = "signing.pub.pem";

    public static ECDsa Generate() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>
    /// Writes the private key (owner-only) at <paramref name="privatePath"/> and the public key beside
    /// it, each whole or not at all (a temporary file, fsynced, then renamed; never over an existing
    /// key): a full disk must not leave an empty key that a later start would refuse.
    /// </summary>
    public static void WritePair(ECDsa key, string privatePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(privatePath))!;
        Directory.CreateDirectory(directory);
        WriteWhole(privatePath, key.ExportPkcs8PrivateKeyPem() + "\n", ownerOnly: true);
        WriteWhole(PublicPathFor(privatePath), key.ExportSubjectPublicKeyInfoPem() + "\n", ownerOnly: false);
    }

    private static void WriteWhole(string path, string text, bool ownerOnly)
    {
        var temporary = path + ".partial";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                if (ownerOnly && !OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                file.Write(System.Text.Encoding.UTF8.GetBytes(text));
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: !ownerOnly);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The public key file that goes with a private key file.</summary>
    public static string PublicPathFor(string privatePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(privatePath))!, Path.GetFileNameWithoutExtension(privatePath) + ".pub.pem");

    /// <summary>Loads a P-256 key from PEM (private or public); throws <see cref="FormatException"/> naming the file.</summary>
    public static ECDsa Load(string path)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new FormatException($"{path}: not a PEM ECDSA key ({ex.Message})");
        }

        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new FormatException($"{path}: the key is not ECDSA P-256");
        }

        return key;
    }
}
