using AuditGateway.Hosting;

return await CommandLine.RunAsync(args);
