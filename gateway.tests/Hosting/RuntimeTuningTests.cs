using AuditGateway.Hosting;

namespace AuditGateway.Tests.Hosting;

/// <summary>The process settings auditgw chooses for itself, and that a value the operator set wins.</summary>
[Collection(RuntimeTuningTests.Name)]
public sealed class RuntimeTuningTests
{
    /// <summary>The tests change the process environment: not in parallel with each other.</summary>
    public const string Name = "process environment";

    [Theory]
    [InlineData(null, "1")]
    [InlineData("0", "0")]
    [InlineData("1", "1")]
    public void Socket_completions_run_inline_unless_the_operator_said_otherwise(string? operatorValue, string expected)
    {
        var before = Environment.GetEnvironmentVariable(RuntimeTuning.InlineCompletions);
        try
        {
            Environment.SetEnvironmentVariable(RuntimeTuning.InlineCompletions, operatorValue);
            RuntimeTuning.Apply();
            Assert.Equal(expected, Environment.GetEnvironmentVariable(RuntimeTuning.InlineCompletions));
        }
        finally
        {
            Environment.SetEnvironmentVariable(RuntimeTuning.InlineCompletions, before);
        }
    }
}
