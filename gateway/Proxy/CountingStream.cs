namespace AuditGateway.Proxy;

/// <summary>
/// Passes a request or response body through and counts its bytes, for the audit entry's
/// <c>bytesIn</c> and <c>bytesOut</c>; for a gRPC call also its messages (<c>grpc.messagesIn</c>, <c>grpc.messagesOut</c>).
/// </summary>
internal sealed class CountingStream(Stream inner, bool reading, bool grpc = false) : Stream
{
    private GrpcMessageCounter _messages;

    public long Count { get; private set; }

    /// <summary>The gRPC messages that passed whole; 0 unless the stream was made for a gRPC call.</summary>
    public long Messages => _messages.Messages;

    public override bool CanRead => reading;

    public override bool CanSeek => false;

    public override bool CanWrite => !reading;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Counted(buffer.AsSpan(offset, read));
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Counted(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Counted(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Counted(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Counted(ReadOnlySpan<byte> bytes)
    {
        Count += bytes.Length;
        if (grpc)
        {
            _messages.Add(bytes);
        }
    }
}
