namespace AuditGateway.Tests.Common;

/// <summary>
/// A measurement, not a test: it prints numbers and asserts only that the work succeeded, so it is
/// skipped (and says so) unless <c>AUDITGW_MEASURE=1</c> asks for the numbers.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class MeasurementAttribute : FactAttribute
{
    public MeasurementAttribute()
    {
        if (Environment.GetEnvironmentVariable("AUDITGW_MEASURE") != "1")
        {
            Skip = "a measurement: run with AUDITGW_MEASURE=1 to get its numbers";
        }
    }
}
