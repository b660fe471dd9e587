using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace AuditGateway.Telemetry;

/// <summary>
/// Listens to the gateway's own meter (<c>AuditGateway</c>, only the instruments of this gateway's
/// <see cref="IMeterFactory"/>) and the runtime's (<c>System.Runtime</c>) and keeps what they measure
/// for <c>/metrics</c>: counters summed, gauges and observable instruments as last observed,
/// histograms in the buckets their advice names. Names follow the OpenTelemetry-to-Prometheus rules:
/// dots become underscores, the unit is a suffix (<c>_seconds</c>, <c>_bytes</c>), counters end in <c>_total</c>.
/// </summary>
internal sealed class MeterCollector : IDisposable
{
    public const string GatewayMeter = "AuditGateway";
    public const string RuntimeMeter = "System.Runtime";

    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public MeterCollector(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            var meter = instrument.Meter;
            var ours = meter.Name == GatewayMeter && ReferenceEquals(meter.Scope, meterFactory);
            if ((ours || meter.Name == RuntimeMeter) && Family.KindOf(instrument) is { } kind)
            {
                listener.EnableMeasurementEvents(instrument, FamilyFor(instrument, kind));
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) => ((Family)state!).Measure(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>(static (instrument, value, tags, state) => ((Family)state!).Measure(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>(static (instrument, value, tags, state) => ((Family)state!).Measure(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Observes the observable instruments, then writes every family, sorted by name.</summary>
    public void Write(PrometheusText text)
    {
        Family[] families;
        lock (_lock)
        {
            families = [.. _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal)];
        }

        foreach (var family in families)
        {
            family.BeginObservation();
        }

        _listener.RecordObservableInstruments();
        foreach (var family in families)
        {
            family.Write(text);
        }
    }

    public void Dispose() => _listener.Dispose();

    private Family FamilyFor(Instrument instrument, FamilyKind kind)
    {
        var name = Family.PrometheusName(instrument, kind);
        lock (_lock)
        {
            if (!_families.TryGetValue(name, out var family))
            {
                family = new Family(name, kind, instrument);
                _families.Add(name, family);
            }

            if (kind == FamilyKind.Counter)
            {
                // A counter is exposed (at 0) before its first increment, so rate() and alerts see it from the start.
                family.Measure(instrument, 0L, default);
            }

            return family;
        }
    }

    internal enum FamilyKind
    {
        Counter,
        ObservedCounter,
        Gauge,
        ObservedGauge,
        Histogram,
    }

    /// <summary>One metric family: its points by tag set (few: tags of these meters are bounded).</summary>
    private sealed class Family
    {
        private readonly List<Point> _points = [];
        private readonly double[] _bounds;
        private readonly byte[][] _leLabels;
        private readonly byte[] _name;
        private readonly HistogramNames _histogramNames;

        public Family(string name, FamilyKind kind, Instrument instrument)
        {
            Name = name;
            Kind = kind;
            Help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
            _bounds = instrument is Histogram<double> { Advice.HistogramBucketBoundaries: { } bounds } ? [.. bounds] : HistogramCell.HttpDurationBuckets;
            _leLabels = PrometheusText.LeLabels(_bounds);
            _name = PrometheusText.Name(name);
            _histogramNames = new HistogramNames(name);
        }

        public string Name { get; }

        public FamilyKind Kind { get; }

        public string Help { get; }

        public static FamilyKind? KindOf(Instrument instrument)
        {
            var type = instrument.GetType();
            if (!type.IsGenericType)
            {
                return null;
            }

            return type.GetGenericTypeDefinition() switch
            {
                var t when t == typeof(Counter<>) => FamilyKind.Counter,
                var t when t == typeof(UpDownCounter<>) => FamilyKind.Gauge,
                var t when t == typeof(Gauge<>) => FamilyKind.Gauge,
                var t when t == typeof(ObservableCounter<>) => FamilyKind.ObservedCounter,
                var t when t == typeof(ObservableUpDownCounter<>) || t == typeof(ObservableGauge<>) => FamilyKind.ObservedGauge,
                var t when t == typeof(Histogram<>) => FamilyKind.Histogram,
                _ => null,
            };
        }

        public static string PrometheusName(Instrument instrument, FamilyKind kind)
        {
            var name = new StringBuilder(instrument.Name.Length + 16);
            foreach (var c in instrument.Name)
            {
                name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
            }

            var counter = kind is FamilyKind.Counter or FamilyKind.ObservedCounter;
            var text = name.ToString();
            if (counter && text.EndsWith("_total", StringComparison.Ordinal))
            {
                text = text[..^"_total".Length];
            }

            var unit = instrument.Unit switch
            {
                "s" => "seconds",
                "By" => "bytes",
                _ => null,
            };
            if (unit is not null && !text.EndsWith("_" + unit, StringComparison.Ordinal))
            {
                text += "_" + unit;
            }

            // "_count" belongs to histograms; a gauge of things counted says what it counts.
            if (!counter && kind != FamilyKind.Histogram && text.EndsWith("_count", StringComparison.Ordinal))
            {
                text = text[..^"_count".Length] + "_current";
            }

            return counter ? text + "_total" : text;
        }

        public void BeginObservation()
        {
            if (Kind is FamilyKind.ObservedCounter or FamilyKind.ObservedGauge)
            {
                lock (_points)
                {
                    _points.Clear();
                }
            }
        }

        public void Measure<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
            where T : struct
        {
            var number = value switch
            {
                long l => l,
                int i => i,
                double d => d,
                _ => 0.0,
            };
            lock (_points)
            {
                var point = Find(tags);
                switch (Kind)
                {
                    case FamilyKind.Counter:
                        point.Value += number;
                        break;
                    case FamilyKind.Gauge when instrument.GetType().GetGenericTypeDefinition() == typeof(UpDownCounter<>):
                        point.Value += number;
                        break;
                    case FamilyKind.Histogram:
                        point.Histogram!.Record(number);
                        break;
                    default:
                        point.Value = number;
                        break;
                }
            }
        }

        public void Write(PrometheusText text)
        {
            Point[] points;
            lock (_points)
            {
                points = [.. _points];
            }

            if (points.Length == 0)
            {
                return;
            }

            var type = Kind switch
            {
                FamilyKind.Counter or FamilyKind.ObservedCounter => "counter",
                FamilyKind.Histogram => "histogram",
                _ => "gauge",
            };
            text.Family(Name, type, Help);
            foreach (var point in points.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (point.Key.Length == 0 && point.Value == 0 && points.Length > 1)
                {
                    // The counter's initial 0 without labels, once labelled points exist.
                    continue;
                }

                if (point.Histogram is { } histogram)
                {
                    text.Histogram(_histogramNames, point.Labels, histogram, _leLabels);
                }
                else
                {
                    text.Sample(_name, point.Labels, default, point.Value);
                }
            }
        }

        private Point Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var point in _points)
            {
                if (point.Matches(tags))
                {
                    return point;
                }
            }

            var added = new Point(tags, Kind == FamilyKind.Histogram ? new HistogramCell(_bounds) : null);
            _points.Add(added);
            return added;
        }
    }

    /// <summary>One tag set of a family and its value (or histogram).</summary>
    private sealed class Point
    {
        private readonly KeyValuePair<string, string>[] _tags;

        public Point(ReadOnlySpan<KeyValuePair<string, object?>> tags, HistogramCell? histogram)
        {
            var list = new List<KeyValuePair<string, string>>(tags.Length);
            foreach (var tag in tags)
            {
                list.Add(new(tag.Key, Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? ""));
            }

            _tags = [.. list.OrderBy(t => t.Key, StringComparer.Ordinal)];
            Key = string.Join(",", _tags.Select(t => t.Key + "=" + t.Value));
            Labels = Encoding.UTF8.GetBytes(string.Join(",", _tags.Select(t => $"{Sanitize(t.Key)}=\"{PrometheusText.EscapeLabel(t.Value)}\"")));
            Histogram = histogram;
        }

        public string Key { get; }

        public byte[] Labels { get; }

        public HistogramCell? Histogram { get; }

        public double Value { get; set; }

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _tags.Length)
            {
                return false;
            }

            foreach (var tag in tags)
            {
                var found = false;
                foreach (var own in _tags)
                {
                    if (own.Key == tag.Key)
                    {
                        found = own.Value == (tag.Value as string ?? Convert.ToString(tag.Value, CultureInfo.InvariantCulture));
                        break;
                    }
                }

                if (!found)
                {
                    return false;
                }
            }

            return true;
        }

        private static string Sanitize(string key) => string.Concat(key.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_'));
    }
}
