using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>A key document could not be used; the message says why, without key material.</summary>
internal sealed class KeyMaterialException(string message) : Exception(message);

/// <summary>
/// Verification keys from a JWKS document (RFC 7517) or from PEM (public keys, RSA public keys or
/// certificates). Only public RSA keys of 2048 bits or more and EC P-256 keys are kept; keys marked
/// for encryption are skipped; a key of a type the gateway cannot verify with (an ML-DSA <c>AKP</c> key,
/// an Ed25519 <c>OKP</c> key, a small RSA key) is skipped and described to the caller, so the other keys
/// of the set keep working; a private key is refused (it should not be on a gateway).
/// </summary>
internal static class KeyMaterial
{
    public const int MinRsaBits = 2048;

    /// <summary>Tells JWKS JSON from PEM by the content.</summary>
    /// <param name="skipped">Receives a description of each JWKS key that was skipped as unusable.</param>
    public static IReadOnlyList<SecurityKey> Parse(string text, ICollection<string>? skipped = null)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] == '{')
        {
            return ParseJwks(text, skipped);
        }

        if (text.Contains("-----BEGIN ", StringComparison.Ordinal))
        {
            return ParsePem(text);
        }

        throw new KeyMaterialException("neither a JWKS JSON document nor a PEM public key");
    }

    /// <summary>A JWKS (<c>{"keys":[…]}</c>) or a single JWK object.</summary>
    /// <param name="skipped">Receives a description of each key that was skipped as unusable.</param>
    public static IReadOnlyList<SecurityKey> ParseJwks(string json, ICollection<string>? skipped = null)
    {
        List<JsonWebKey> candidates;
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new KeyMaterialException("a JWKS must be a JSON object");
            }

            candidates = document.RootElement.TryGetProperty("keys", out _)
                ? [.. new JsonWebKeySet(json).Keys]
                : [new JsonWebKey(json)];
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new KeyMaterialException($"not a valid JWKS: {FirstSentence(e.Message)}");
        }

        var keys = new List<SecurityKey>();
        foreach (var key in candidates)
        {
            if (key.HasPrivateKey || !string.IsNullOrEmpty(key.D))
            {
                throw new KeyMaterialException($"key '{key.Kid}' includes private key material; publish only public keys");
            }

            if (key.Use is { Length: > 0 } use && use != JsonWebKeyUseNames.Sig)
            {
                continue;
            }

            if (IsUsable(key))
            {
                keys.Add(key);
            }
            else
            {
                skipped?.Add(Describe(key));
            }
        }

        return keys.Count > 0
            ? keys
            : throw new KeyMaterialException("no usable signing key (RSA of at least 2048 bits or EC P-256)");
    }

    public static IReadOnlyList<SecurityKey> ParsePem(string text)
    {
        var keys = new List<SecurityKey>();
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            var der = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
            keys.Add(PemKey(label, der));
            rest = rest[fields.Location.End..];
        }

        return keys.Count > 0 ? keys : throw new KeyMaterialException("no PEM block found");
    }

    private static SecurityKey PemKey(string label, byte[] der)
    {
        try
        {
            switch (label)
            {
                case "PUBLIC KEY":
                    return PublicKeyInfo(der);
                case "RSA PUBLIC KEY":
                    var rsa = RSA.Create();
                    rsa.ImportRSAPublicKey(der, out _);
                    return Checked(new RsaSecurityKey(rsa));
                case "CERTIFICATE":
                    using (var certificate = X509CertificateLoader.LoadCertificate(der))
                    {
                        if (certificate.GetRSAPublicKey() is { } certRsa)
                        {
                            return Checked(new RsaSecurityKey(certRsa));
                        }

                        if (certificate.GetECDsaPublicKey() is { } certEc)
                        {
                            return Checked(new ECDsaSecurityKey(certEc));
                        }
                    }

                    throw new KeyMaterialException("the certificate's key is neither RSA nor EC");
                default:
                    if (label.EndsWith("PRIVATE KEY", StringComparison.Ordinal))
                    {
                        throw new KeyMaterialException($"'{label}' is a private key; give the issuer's public key");
                    }

                    throw new KeyMaterialException($"unsupported PEM block '{label}'");
            }
        }
        catch (CryptographicException e)
        {
            throw new KeyMaterialException($"PEM block '{label}' is not a valid key: {e.Message}");
        }
    }

    private static SecurityKey PublicKeyInfo(byte[] der)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(der, out _);
            return Checked(new RsaSecurityKey(rsa));
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        ec.ImportSubjectPublicKeyInfo(der, out _);
        return Checked(new ECDsaSecurityKey(ec));
    }

    /// <summary>Names a skipped key by its id, type and algorithm (never its material).</summary>
    private static string Describe(JsonWebKey key)
    {
        var alg = string.IsNullOrEmpty(key.Alg) ? "" : $", alg {key.Alg}";
        var crv = string.IsNullOrEmpty(key.Crv) ? "" : $", crv {key.Crv}";
        return $"key '{key.Kid ?? "-"}' (kty {key.Kty}{crv}{alg}) is not RSA of at least {MinRsaBits} bits nor EC P-256; skipped";
    }

    private static SecurityKey Checked(SecurityKey key) =>
        IsUsable(key) ? key : throw new KeyMaterialException("key is not RSA of at least 2048 bits nor EC P-256");

    /// <summary>RSA keys of at least <see cref="MinRsaBits"/> bits, or EC keys on P-256.</summary>
    public static bool IsUsable(SecurityKey key) => key switch
    {
        JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.RSA } jwk => jwk.N is { Length: > 0 } n && Base64UrlEncoder.DecodeBytes(n).Length * 8 >= MinRsaBits,
        JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.EllipticCurve } jwk => jwk.Crv == JsonWebKeyECTypes.P256,
        RsaSecurityKey rsa => rsa.KeySize >= MinRsaBits,
        ECDsaSecurityKey ec => ec.KeySize == 256,
        _ => false,
    };

    /// <summary>Whether the key can verify a signature with <paramref name="algorithm"/> (RS256, PS256 or ES256).</summary>
    public static bool Fits(SecurityKey key, string algorithm)
    {
        if (key is JsonWebKey { Alg: { Length: > 0 } declared } && declared != algorithm)
        {
            return false;
        }

        var isRsa = key is RsaSecurityKey || key is JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.RSA };
        return algorithm == SecurityAlgorithms.EcdsaSha256 ? !isRsa : isRsa;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
