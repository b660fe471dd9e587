using System.Text;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Tests.Audit;

public sealed class LogReaderTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public LogReaderTests() => Directory.CreateDirectory(LogLayout.LogDirectory(_dir.Path));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Following_reads_what_landed_in_a_segment_while_the_writer_rolled_to_the_next()
    {
        // The follower finds the end of segment 0 and looks for a newer one; the writer, in that very
        // moment, finishes the line it was writing, adds another and rolls to segment 3. The lines must
        // come whole and in order, none skipped for the newer segment.
        Append(0, "a0\na1\na2-par");
        var rollWhenLooked = false;
        using var reader = new LogReader(_dir.Path, data =>
        {
            if (rollWhenLooked)
            {
                rollWhenLooked = false;
                Append(0, "tial\na3\n");
                Append(3, "b4\n");
            }

            return LogLayout.Segments(data);
        })
        { Follow = true };

        Assert.Equal(["a0", "a1"], ReadAll(reader));
        rollWhenLooked = true;
        Assert.Equal(["a2-partial", "a3", "b4"], ReadAll(reader));
        Assert.False(rollWhenLooked, "the reader did not look for a newer segment");
    }

    [Fact]
    public void Following_leaves_a_partial_last_line_until_it_is_complete()
    {
        Append(0, "a0\na1-par");
        using var reader = new LogReader(_dir.Path) { Follow = true };

        Assert.Equal(["a0"], ReadAll(reader));
        Append(0, "tial\n");
        Assert.Equal(["a1-partial"], ReadAll(reader));
        Append(3, "b2\n");
        Assert.Equal(["b2"], ReadAll(reader));
    }

    [Fact]
    public void A_complete_segment_that_ends_mid_line_gives_that_line_unterminated_then_the_next_segment()
    {
        Append(0, "a0\na1-cut");
        Append(2, "b2\n");
        foreach (var follow in new[] { false, true })
        {
            using var reader = new LogReader(_dir.Path) { Follow = follow };
            var lines = new List<(string Line, bool Unterminated)>();
            while (reader.Read())
            {
                lines.Add((Encoding.UTF8.GetString(reader.Line), reader.Unterminated));
            }

            Assert.Equal([("a0", false), ("a1-cut", true), ("b2", false)], lines);
        }
    }

    private void Append(long segment, string text)
    {
        using var file = new FileStream(LogLayout.SegmentPath(_dir.Path, segment), FileMode.Append);
        file.Write(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Every line the reader has now, each checked to be terminated.</summary>
    private static List<string> ReadAll(LogReader reader)
    {
        var lines = new List<string>();
        while (reader.Read())
        {
            Assert.False(reader.Unterminated, "a partial line came back as a line");
            lines.Add(Encoding.UTF8.GetString(reader.Line));
        }

        return lines;
    }
}
