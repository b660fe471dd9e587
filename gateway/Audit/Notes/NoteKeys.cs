using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AuditGateway.Audit.Notes;

/// <summary>
/// Verifies C2SP signed notes with an ECDSA P-256 key (signature type 0x02): key id = the first
/// four bytes of SHA-256 of the DER SubjectPublicKeyInfo; signature = DER ECDSA over SHA-256 of the text.
/// </summary>
internal sealed class NoteVerifier : IDisposable
{
    public const byte EcdsaType = 0x02;

    private readonly ECDsa _key;

    private NoteVerifier(string name, ECDsa key, byte[] spki)
    {
        Name = name;
        _key = key;
        Spki = spki;
        KeyId = KeyIdOf(spki);
    }

    public string Name { get; }

    public uint KeyId { get; }

    public byte[] Spki { get; }

    /// <summary>The C2SP verifier key string: <c>name+hex(keyid)+base64(0x02 || SPKI)</c>.</summary>
    public string VerifierKey => $"{Name}+{KeyId:x8}+{Convert.ToBase64String([EcdsaType, .. Spki])}";

    public static NoteVerifier FromPublicKey(string name, ECDsa key) =>
        Create(name, key.ExportSubjectPublicKeyInfo());

    /// <summary>Parses a verifier key string; throws <see cref="FormatException"/> with the reason.</summary>
    public static NoteVerifier Parse(string vkey)
    {
        var parts = vkey.Split('+', 3);
        if (parts.Length != 3 || parts[0].Length == 0)
        {
            throw new FormatException("a verifier key is name+keyid+key");
        }

        if (parts[1].Length != 8 || !uint.TryParse(parts[1], System.Globalization.NumberStyles.AllowHexSpecifier, null, out var keyId))
        {
            throw new FormatException("the key id is not 8 hex digits");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            throw new FormatException("the key is not base64");
        }

        if (key.Length < 2 || key[0] != EcdsaType)
        {
            throw new FormatException("the key is not of type 0x02 (ECDSA)");
        }

        var verifier = Create(parts[0], key[1..]);
        if (verifier.KeyId != keyId)
        {
            verifier.Dispose();
            throw new FormatException("the key id does not match the key");
        }

        return verifier;
    }

    /// <summary>True when the note carries a valid signature by this key (matched by name and key id).</summary>
    public bool Verify(SignedNote note)
    {
        var text = Encoding.UTF8.GetBytes(note.Text);
        return note.Signatures.Any(s => s.Name == Name && s.KeyId == KeyId
            && _key.VerifyData(text, s.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    public void Dispose() => _key.Dispose();

    internal static uint KeyIdOf(ReadOnlySpan<byte> spki) => BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(spki));

    private static NoteVerifier Create(string name, byte[] spki)
    {
        if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal) || name.Contains('+', StringComparison.Ordinal))
        {
            throw new FormatException("the key name is empty or has a space or '+'");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length || key.KeySize != 256)
            {
                throw new FormatException("the key is not an ECDSA P-256 public key");
            }
        }
        catch (CryptographicException)
        {
            key.Dispose();
            throw new FormatException("the key is not an ECDSA P-256 public key");
        }

        return new NoteVerifier(name, key, spki);
    }
}

/// <summary>Signs C2SP notes with an ECDSA P-256 private key.</summary>
internal sealed class NoteSigner : IDisposable
{
    private readonly ECDsa _key;

    public NoteSigner(string name, ECDsa key)
    {
        _key = key;
        Verifier = NoteVerifier.FromPublicKey(name, key);
    }

    public NoteVerifier Verifier { get; }

    public SignedNote Sign(string text)
    {
        var signature = _key.SignData(Encoding.UTF8.GetBytes(text), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new SignedNote(text, [new NoteSignature(Verifier.Name, Verifier.KeyId, signature)]);
    }

    public void Dispose()
    {
        Verifier.Dispose();
        _key.Dispose();
    }
}
