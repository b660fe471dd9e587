using System.Text.Json;
using AuditGateway.Audit.Notes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Audit;

public sealed class NoteTests
{
    private static readonly JsonElement s_ecdsa = Fixtures.Load("signed-note/note-vectors.json").RootElement.GetProperty("ecdsa_p256_type_0x02");

    [Fact]
    public void Every_ECDSA_vector_is_accepted_or_rejected_as_labelled()
    {
        foreach (var vector in s_ecdsa.GetProperty("cases").EnumerateArray())
        {
            using var verifier = NoteVerifier.Parse(vector.GetProperty("vkey").GetString()!);
            var ok = SignedNote.TryParse(vector.GetProperty("note").GetString()!, out var note) && verifier.Verify(note!);
            Assert.True(ok != vector.GetProperty("wantErr").GetBoolean(), vector.GetProperty("desc").GetString());
        }
    }

    [Fact]
    public void A_parsed_verifier_key_prints_back_the_same()
    {
        var vkey = s_ecdsa.GetProperty("cases")[0].GetProperty("vkey").GetString()!;
        using var verifier = NoteVerifier.Parse(vkey);
        Assert.Equal(vkey, verifier.VerifierKey);
        Assert.Equal(0xc0d23d6au, verifier.KeyId);
    }

    [Fact]
    public void Every_malformed_verifier_key_is_rejected()
    {
        foreach (var vector in s_ecdsa.GetProperty("vkey_parse_negative_cases_same_source").EnumerateArray())
        {
            Assert.Throws<FormatException>(() => NoteVerifier.Parse(vector.GetProperty("vkey").GetString()!));
        }
    }

    [Fact]
    public void A_signed_checkpoint_verifies_and_round_trips_and_a_changed_one_does_not()
    {
        using var signer = new NoteSigner("auditgateway/n1", SigningKeys.Generate());
        var checkpoint = new Checkpoint("auditgateway/n1", 42, new byte[32]);
        var note = signer.Sign(checkpoint.ToText());
        var text = note.ToString();
        Assert.StartsWith("auditgateway/n1\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 auditgateway/n1 ", text, StringComparison.Ordinal);

        Assert.True(SignedNote.TryParse(text, out var parsed));
        Assert.True(signer.Verifier.Verify(parsed!));
        Assert.True(Checkpoint.TryParse(parsed!.Text, out var back));
        Assert.Equal(42, back!.Size);

        using var reparsed = NoteVerifier.Parse(signer.Verifier.VerifierKey);
        Assert.True(reparsed.Verify(parsed));
        Assert.True(SignedNote.TryParse(text.Replace("\n42\n", "\n43\n", StringComparison.Ordinal), out var forged));
        Assert.False(signer.Verifier.Verify(forged!));
    }

    [Theory]
    [InlineData("o\n042\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    [InlineData("o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    [InlineData("o\n1\nAAAA\n")]
    [InlineData("o\n1\n")]
    [InlineData("\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    public void Malformed_checkpoint_bodies_are_rejected(string text) => Assert.False(Checkpoint.TryParse(text, out _));
}
