namespace AuditGateway.Proxy;

/// <summary>
/// Passes a request or response body through and counts its bytes, for the audit entry's
/// <c>bytesIn</c> and <c>bytesOut</c>; for a gRPC call also its messages (<c>grpc.messagesIn</c>, <c>grpc.messagesOut</c>).
/// </summary>
internal sealed class CountingStream(Stream inner, bool reading, bool grpc = false) : ObservedStream(inner, canRead: reading, canWrite: !reading)
{
    private GrpcMessageCounter _messages;

    public long Count { get; private set; }

    /// <summary>The gRPC messages that passed whole; 0 unless the stream was made for a gRPC call.</summary>
    public long Messages => _messages.Messages;

    protected override void Received(ReadOnlySpan<byte> bytes) => Counted(bytes);

    protected override void Sending(ReadOnlySpan<byte> bytes) => Counted(bytes);

    private void Counted(ReadOnlySpan<byte> bytes)
    {
        Count += bytes.Length;
        if (grpc)
        {
            _messages.Add(bytes);
        }
    }
}
