using System.Collections.Concurrent;

namespace AuditGateway.Tests.Common;

/// <summary>One formatted log line the gateway wrote.</summary>
internal sealed record LogLine(string Category, LogLevel Level, string Message)
{
    public override string ToString() => $"{Level} {Category}: {Message}";
}

/// <summary>An <see cref="ILoggerProvider"/> that keeps every line, for tests to assert on.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    /// <summary>The lines at <paramref name="level"/> or above whose message contains every fragment.</summary>
    public IReadOnlyList<LogLine> Containing(LogLevel level, params string[] fragments) =>
        [.. _lines.Where(l => l.Level >= level && fragments.All(f => l.Message.Contains(f, StringComparison.Ordinal)))];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector collector, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            collector._lines.Enqueue(new LogLine(category, logLevel, formatter(state, exception)));
        }
    }
}
