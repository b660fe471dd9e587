namespace AuditGateway.Proxy;

/// <summary>
/// A stream that passes another's bytes through unchanged and shows each chunk, as it passes, to
/// <see cref="Received"/> (read from the inner stream) or <see cref="Sending"/> (about to be written to it).
/// Not seekable; reading and writing as the inner stream allows and the caller says.
/// </summary>
internal abstract class ObservedStream(Stream inner, bool canRead, bool canWrite) : Stream
{
    protected Stream Inner => inner;

    public override bool CanRead => canRead;

    public override bool CanSeek => false;

    public override bool CanWrite => canWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Received(buffer.AsSpan(offset, read));
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Received(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Sending(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Sending(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Bytes just read from the inner stream.</summary>
    protected abstract void Received(ReadOnlySpan<byte> bytes);

    /// <summary>Bytes about to be written to the inner stream.</summary>
    protected abstract void Sending(ReadOnlySpan<byte> bytes);
}
