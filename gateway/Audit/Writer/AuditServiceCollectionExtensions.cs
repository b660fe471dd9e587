using Microsoft.Extensions.DependencyInjection;

namespace AuditGateway.Audit.Writer;

/// <summary>Registration of the audit log.</summary>
internal static class AuditServiceCollectionExtensions
{
    /// <summary>Adds <see cref="IAuditLog"/> and the hosted service that opens and closes it.</summary>
    public static IServiceCollection AddAuditLog(this IServiceCollection services, AuditOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        services.AddMetrics();
        services.AddSingleton(options);
        services.AddSingleton<AuditLogService>();
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<AuditLogService>());
        services.AddHostedService(sp => sp.GetRequiredService<AuditLogService>());
        return services;
    }
}
