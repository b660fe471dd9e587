using System.Buffers.Binary;
using System.Text;

namespace AuditGateway.Tests.Telemetry;

/// <summary>One field of a protobuf message: its number, wire type and value (a varint or fixed number, or the bytes).</summary>
internal readonly record struct ProtoField(int Number, int WireType, ulong Number64, ReadOnlyMemory<byte> Bytes)
{
    public string Text => Encoding.UTF8.GetString(Bytes.Span);

    public double Double => BitConverter.Int64BitsToDouble((long)Number64);
}

/// <summary>The protobuf wire format, read without generated classes: enough to decode what an OTLP exporter sends.</summary>
internal static class Protobuf
{
    public static List<ProtoField> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<ProtoField>();
        var position = 0;
        var span = message.Span;
        while (position < span.Length)
        {
            var key = Varint(span, ref position);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    fields.Add(new ProtoField(number, 0, Varint(span, ref position), default));
                    break;
                case 1:
                    fields.Add(new ProtoField(number, 1, BinaryPrimitives.ReadUInt64LittleEndian(span[position..]), default));
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(span, ref position);
                    fields.Add(new ProtoField(number, 2, 0, message.Slice(position, length)));
                    position += length;
                    break;
                case 5:
                    fields.Add(new ProtoField(number, 5, BinaryPrimitives.ReadUInt32LittleEndian(span[position..]), default));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wireType} of field {number} at byte {position}");
            }
        }

        return fields;
    }

    /// <summary>The embedded messages (or strings, bytes) of field <paramref name="number"/>.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> All(ReadOnlyMemory<byte> message, int number) =>
        Fields(message).Where(f => f.Number == number && f.WireType == 2).Select(f => f.Bytes);

    public static ProtoField? One(ReadOnlyMemory<byte> message, int number) =>
        Fields(message).Where(f => f.Number == number).Cast<ProtoField?>().FirstOrDefault();

    private static ulong Varint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = span[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
