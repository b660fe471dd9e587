using AuditGateway;

return await CommandLine.RunAsync(args);
