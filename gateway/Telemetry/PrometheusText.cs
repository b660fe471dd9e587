using System.Buffers;
using System.Globalization;
using System.Text;

namespace AuditGateway.Telemetry;

/// <summary>
/// The Prometheus text exposition format (version 0.0.4) onto a buffer: <c># HELP</c> and
/// <c># TYPE</c> lines, then samples <c>name{labels} value</c>. Labels are passed preformatted
/// (<c>a="x",b="y"</c>, already escaped), so a scrape formats each route's label once.
/// </summary>
internal sealed class PrometheusText(IBufferWriter<byte> output)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public void Family(string name, string type, string help)
    {
        Ascii("# HELP ");
        Ascii(name);
        Bytes(" "u8);
        Utf8(EscapeHelp(help));
        Bytes("\n# TYPE "u8);
        Ascii(name);
        Bytes(" "u8);
        Ascii(type);
        Bytes("\n"u8);
    }

    /// <summary><c>name{labels,extra} value</c>; either label part may be empty. The name is ASCII bytes (<see cref="Name"/>).</summary>
    public void Sample(ReadOnlySpan<byte> name, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> extra, double value)
    {
        Start(name, labels, extra);
        Number(value);
        Bytes("\n"u8);
    }

    public void Sample(ReadOnlySpan<byte> name, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> extra, long value)
    {
        Start(name, labels, extra);
        Integer(value);
        Bytes("\n"u8);
    }

    /// <summary>The <c>_bucket</c> (cumulative, with <c>le</c>), <c>_sum</c> and <c>_count</c> samples of one histogram series.</summary>
    public void Histogram(HistogramNames names, ReadOnlySpan<byte> labels, HistogramCell cell, byte[][] leLabels)
    {
        long cumulative = 0;
        for (var i = 0; i <= cell.Bounds.Length; i++)
        {
            cumulative += cell.CountIn(i);
            Sample(names.Bucket, labels, leLabels[i], cumulative);
        }

        Sample(names.Sum, labels, default, cell.Sum);
        Sample(names.Count, labels, default, cumulative);
    }

    /// <summary>A metric name as the bytes a sample line starts with.</summary>
    public static byte[] Name(string name) => Encoding.ASCII.GetBytes(name);

    /// <summary>The <c>le="…"</c> label of each bucket, the last one <c>+Inf</c>.</summary>
    public static byte[][] LeLabels(double[] bounds) =>
        [.. bounds.Select(b => Encoding.ASCII.GetBytes($"le=\"{Format(b)}\"")), Encoding.ASCII.GetBytes("le=\"+Inf\"")];

    /// <summary><c>key="value"</c> with the value escaped.</summary>
    public static byte[] Label(string key, string value) => Encoding.UTF8.GetBytes($"{key}=\"{EscapeLabel(value)}\"");

    public static string EscapeLabel(string value) =>
        value.AsSpan().IndexOfAny('\\', '"', '\n') < 0 ? value : value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\").Replace("\n", "\\n");

    private void Start(ReadOnlySpan<byte> name, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> extra)
    {
        Bytes(name);
        if (labels.Length > 0 || extra.Length > 0)
        {
            Bytes("{"u8);
            Bytes(labels);
            if (labels.Length > 0 && extra.Length > 0)
            {
                Bytes(","u8);
            }

            Bytes(extra);
            Bytes("}"u8);
        }

        Bytes(" "u8);
    }

    private void Number(double value)
    {
        if (!double.IsFinite(value))
        {
            Ascii(Format(value));
            return;
        }

        var span = output.GetSpan(32);
        value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    private void Integer(long value)
    {
        var span = output.GetSpan(20);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    private void Ascii(string text)
    {
        var span = output.GetSpan(text.Length);
        var written = Encoding.ASCII.GetBytes(text, span);
        output.Advance(written);
    }

    private void Utf8(string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private void Bytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}

/// <summary>The three sample names of a histogram family.</summary>
internal sealed class HistogramNames(string family)
{
    public byte[] Bucket { get; } = PrometheusText.Name(family + "_bucket");

    public byte[] Sum { get; } = PrometheusText.Name(family + "_sum");

    public byte[] Count { get; } = PrometheusText.Name(family + "_count");
}
