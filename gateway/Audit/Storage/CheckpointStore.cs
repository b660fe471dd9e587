using System.Text;
using AuditGateway.Audit.Notes;

namespace AuditGateway.Audit.Storage;

/// <summary>A checkpoint as stored: the parsed body and the signed note it came from.</summary>
internal sealed record SignedCheckpoint(Checkpoint Checkpoint, SignedNote Note);

/// <summary>Writes and reads <c>checkpoints/</c>: every checkpoint is kept as <c>&lt;size&gt;.note</c>, and <c>latest</c> is the newest.</summary>
internal static class CheckpointStore
{
    /// <summary>
    /// Writes the note as <c>latest</c> and then as <c>&lt;size&gt;.note</c>, each durably (temp file,
    /// fsync, rename). In that order a crash can leave <c>latest</c> newer than the newest numbered
    /// file, never older, so an older <c>latest</c> always means someone replaced it.
    /// </summary>
    public static void Write(string dataDirectory, SignedCheckpoint checkpoint)
    {
        var text = Encoding.UTF8.GetBytes(checkpoint.Note.ToString());
        WriteDurably(LogLayout.LatestCheckpoint(dataDirectory), text);
        WriteDurably(LogLayout.CheckpointPath(dataDirectory, checkpoint.Checkpoint.Size), text);
    }

    /// <summary>Reads and parses a note file; null with a reason when it is not a signed checkpoint.</summary>
    public static SignedCheckpoint? TryRead(string path, out string? error)
    {
        var text = File.ReadAllText(path, Encoding.UTF8);
        return TryParse(text, out error);
    }

    public static SignedCheckpoint? TryParse(string text, out string? error)
    {
        if (!SignedNote.TryParse(text, out var note))
        {
            error = "not a signed note";
            return null;
        }

        if (!Checkpoint.TryParse(note!.Text, out var checkpoint))
        {
            error = "not a checkpoint";
            return null;
        }

        error = null;
        return new SignedCheckpoint(checkpoint!, note);
    }

    /// <summary>Writes a whole file or nothing: a temporary file beside it, fsynced, then renamed over it.</summary>
    public static void WriteDurably(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
