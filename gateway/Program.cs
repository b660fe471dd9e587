using AuditGateway;
using AuditGateway.Hosting;

RuntimeTuning.Apply();
return await CommandLine.RunAsync(args);
