using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>A bad <c>telemetry:</c> value stops start-up with one line naming the key and what is expected.</summary>
public sealed class TelemetryConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("auditgw-telemetry-config-").FullName;

    [Theory]
    [InlineData("traceSampleRatio: 2", "telemetry.traceSampleRatio '2': expected a number from 0 to 1")]
    [InlineData("traceSampleRatio: lots", "invalid value at 'telemetry.traceSampleRatio'")]
    [InlineData("maxSeriesPerMetric: 0", "telemetry.maxSeriesPerMetric '0': expected a whole number of at least 1")]
    [InlineData("otlpEndpoint: ftp://collector:4317", "telemetry.otlpEndpoint 'ftp://collector:4317': expected an http:// or https:// URL")]
    [InlineData("otlpProtocol: udp", "telemetry.otlpProtocol 'udp': expected grpc or http/protobuf")]
    [InlineData("sampleRatio: 0.5", "unknown key at 'telemetry.sampleRatio'")]
    public async Task A_bad_value_is_one_line_naming_the_key(string setting, string expected)
    {
        var config = Path.Combine(_dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, $"telemetry:\n  {setting}\n");
        var result = await AuditgwProcess.RunAsync(
            TimeSpan.FromSeconds(30),
            ["run", "--manifests", _dir, "--data", Path.Combine(_dir, "data"), "--config", config, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("auditgw: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
