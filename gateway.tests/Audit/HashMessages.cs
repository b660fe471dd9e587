namespace AuditGateway.Tests.Audit;

/// <summary>Messages for the SHA-256 tests.</summary>
internal static class HashMessages
{
    /// <summary>The messages one after another, each after a newline, as lines lie in the writer's batch.</summary>
    public static (byte[] Data, (int Start, int Length)[] Messages) Pack(IReadOnlyList<byte[]> messages)
    {
        var data = new byte[messages.Sum(m => m.Length + 1)];
        var spans = new (int, int)[messages.Count];
        var at = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            data[at++] = (byte)'\n';
            messages[i].CopyTo(data, at);
            spans[i] = (at, messages[i].Length);
            at += messages[i].Length;
        }

        return (data, spans);
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
