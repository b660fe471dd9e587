namespace AuditGateway.Audit.Writer;

/// <summary>Registration of the audit log: the one way the gateway and the tests add it.</summary>
internal static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IAuditLog"/> (an <see cref="AuditLogService"/>, opened by its owner). Its clock is the
    /// registered <see cref="TimeProvider"/> when there is one, else the one in <paramref name="options"/>.
    /// </summary>
    public static IServiceCollection AddAuditLog(this IServiceCollection services, AuditOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        services.AddMetrics();
        services.AddSingleton(sp => options with { TimeProvider = sp.GetService<TimeProvider>() ?? options.TimeProvider });
        services.AddSingleton<AuditLogService>();
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<AuditLogService>());
        services.AddSingleton<IDurableEntries>(sp => sp.GetRequiredService<AuditLogService>());
        services.AddSingleton<ISignedCheckpoints>(sp => sp.GetRequiredService<AuditLogService>());
        return services;
    }
}
