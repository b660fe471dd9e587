using System.Buffers;
using System.Diagnostics;

namespace AuditGateway.Telemetry;

/// <summary>
/// <c>GET /metrics</c> on the admin listener: the request families, then every instrument of the
/// gateway's and the runtime's meters, then the process. One scrape is written at a time, into a
/// buffer kept between scrapes.
/// </summary>
internal sealed class MetricsEndpoint(RequestMetrics requests, MeterCollector meters) : IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", static context => context.RequestServices.GetRequiredService<MetricsEndpoint>().ServeAsync(context));

    private async Task ServeAsync(HttpContext context)
    {
        await _one.WaitAsync(context.RequestAborted);
        try
        {
            _buffer.ResetWrittenCount();
            WriteTo(_buffer);
            context.Response.ContentType = PrometheusText.ContentType;
            context.Response.ContentLength = _buffer.WrittenCount;
            await context.Response.Body.WriteAsync(_buffer.WrittenMemory, context.RequestAborted);
        }
        finally
        {
            _one.Release();
        }
    }

    public void Dispose() => _one.Dispose();

    private void WriteTo(IBufferWriter<byte> output)
    {
        var text = new PrometheusText(output);
        requests.Write(text);
        requests.WriteDenials(text);
        meters.Write(text);
        WriteProcess(text);
    }

    /// <summary>The process families Prometheus client libraries export under these names.</summary>
    private static void WriteProcess(PrometheusText text)
    {
        using var process = Process.GetCurrentProcess();
        text.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        text.Sample("process_cpu_seconds_total"u8, default, default, process.TotalProcessorTime.TotalSeconds);
        text.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        text.Sample("process_resident_memory_bytes"u8, default, default, process.WorkingSet64);
        text.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        text.Sample("process_virtual_memory_bytes"u8, default, default, process.VirtualMemorySize64);
        text.Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
        text.Sample("process_start_time_seconds"u8, default, default, new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        text.Family("process_open_fds", "gauge", "Number of open file descriptors.");
        text.Sample("process_open_fds"u8, default, default, (long)process.HandleCount);
    }
}
