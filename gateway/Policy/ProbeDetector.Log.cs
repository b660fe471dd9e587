using System.Net;

namespace AuditGateway.Policy;

internal sealed partial class ProbeDetector
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Probe detection blocked {Client} ({Detector}) for {BlockFor}")]
        public static partial void ClientBlocked(ILogger logger, IPAddress client, string detector, TimeSpan blockFor);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Probe detection tracked more than {MaxClients} clients; dropped the {Dropped} least recently seen")]
        public static partial void ClientsTrimmed(ILogger logger, int dropped, int maxClients);
    }
}
