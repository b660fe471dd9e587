using System.Globalization;
using AuditGateway.Configuration;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// The <c>redis:</c> section (docs/replicas.md). Without <see cref="Url"/> the gateway is a single node
/// and nothing here runs. The connection is a URL, <c>redis://[user[:password]@]host[:port][/db]</c> or
/// <c>rediss://…</c> for TLS; the password may come from <c>passwordFile</c> instead (a mounted Secret).
/// </summary>
internal sealed record RedisOptions
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMilliseconds(50);

    public const long DefaultStreamMaxLength = 1_000_000;

    /// <summary>The connection URL as configured, with any password replaced by <c>***</c> (for log lines and errors).</summary>
    public string? Url { get; init; }

    public string Host { get; init; } = "";

    public int Port { get; init; } = 6379;

    public string? User { get; init; }

    public string? Password { get; init; }

    public int Database { get; init; }

    public bool Tls { get; init; }

    /// <summary>PEM CA certificate the server's certificate must chain to (<c>rediss://</c> only); null: the system's roots.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>The longest any Redis operation is waited on.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Also append every entry to the Stream <c>auditgw:log:&lt;node&gt;</c>.</summary>
    public bool StreamEntries { get; init; }

    /// <summary>Entries each node's Stream keeps (approximate trimming).</summary>
    public long StreamMaxLength { get; init; } = DefaultStreamMaxLength;

    public bool Enabled => Url is not null;

    /// <summary>Reads the section; throws <see cref="OptionException"/> naming the key for a bad value.</summary>
    public static RedisOptions Parse(RedisSection? section, string configDirectory)
    {
        if (section is null || string.IsNullOrWhiteSpace(section.Connection))
        {
            return new RedisOptions();
        }

        var options = FromUrl(section.Connection.Trim());
        if (section.PasswordFile is { Length: > 0 } passwordFile)
        {
            var path = Path.Combine(configDirectory, passwordFile);
            try
            {
                options = options with { Password = File.ReadAllText(path).TrimEnd('\r', '\n') };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OptionException($"redis.passwordFile '{passwordFile}': cannot read it: {e.Message}");
            }
        }

        if (section.TlsCaFile is { Length: > 0 } caFile)
        {
            if (!options.Tls)
            {
                throw new OptionException($"redis.tlsCaFile is set but redis.connection '{options.Url}' is not rediss:// (TLS)");
            }

            var path = Path.Combine(configDirectory, caFile);
            if (!File.Exists(path))
            {
                throw new OptionException($"redis.tlsCaFile '{caFile}': no such file");
            }

            options = options with { TlsCaFile = path };
        }

        if (section.Timeout is { } timeoutText)
        {
            if (!DurationParser.TryParse(timeoutText, out var timeout, out var error))
            {
                throw new OptionException($"redis.timeout: {error}");
            }

            if (timeout < TimeSpan.FromMilliseconds(1) || timeout > TimeSpan.FromSeconds(10))
            {
                throw new OptionException($"redis.timeout '{timeoutText}': expected from 1ms to 10s (the longest a request-path decision may wait; 50ms is the default)");
            }

            options = options with { Timeout = timeout };
        }

        if (section.StreamMaxLength is { } maxLength)
        {
            if (maxLength < 1000)
            {
                throw new OptionException($"redis.streamMaxLength '{maxLength}': expected at least 1000 entries");
            }

            options = options with { StreamMaxLength = maxLength };
        }

        return options with { StreamEntries = section.StreamEntries ?? false };
    }

    /// <summary>Parses a <c>redis://</c> or <c>rediss://</c> URL; throws <see cref="OptionException"/> saying what is wrong.</summary>
    public static RedisOptions FromUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
        {
            throw new OptionException($"redis.connection '{Redact(text)}': expected redis://[user[:password]@]host[:port][/db] or rediss://… for TLS");
        }

        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            if (colon < 0)
            {
                // redis://secret@host: a password alone, as redis-cli -u reads it.
                (user, password) = (null, user);
            }

            if (user is { Length: 0 })
            {
                user = null;
            }
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 15))
        {
            throw new OptionException($"redis.connection '{Redact(text)}': the path '/{path}' is not a database number from 0 to 15");
        }

        if (uri.Query.Length > 0)
        {
            throw new OptionException($"redis.connection '{Redact(text)}': query parameters are not supported (set redis.timeout, redis.tlsCaFile or redis.passwordFile instead)");
        }

        return new RedisOptions
        {
            Url = Redact(text),
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port,
            User = user,
            Password = password,
            Database = database,
            Tls = uri.Scheme == "rediss",
        };
    }

    /// <summary>The client's configuration: fail fast while disconnected, every operation bounded by <see cref="Timeout"/>, reconnect on its own.</summary>
    public ConfigurationOptions ToConfiguration(string clientName)
    {
        var milliseconds = (int)Math.Ceiling(Timeout.TotalMilliseconds);
        var configuration = new ConfigurationOptions
        {
            EndPoints = { { Host, Port } },
            User = User,
            Password = Password,
            DefaultDatabase = Database,
            Ssl = Tls,
            SslHost = Tls ? Host : null,
            ClientName = clientName,
            AbortOnConnectFail = false,
            ConnectTimeout = Math.Max(milliseconds, 1000),
            SyncTimeout = milliseconds,
            AsyncTimeout = milliseconds,
            ConnectRetry = 1,
            KeepAlive = 1,
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            ReconnectRetryPolicy = new LinearRetry(100),
            BacklogPolicy = BacklogPolicy.FailFast,
            IncludeDetailInExceptions = false,
        };
        if (TlsCaFile is not null)
        {
            configuration.TrustIssuer(TlsCaFile);
        }

        return configuration;
    }

    /// <summary>The URL with its password (if any) replaced by <c>***</c>.</summary>
    private static string Redact(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var at = text.LastIndexOf('@');
        if (scheme < 0 || at < scheme)
        {
            return text;
        }

        var userInfo = text[(scheme + 3)..at];
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var kept = colon < 0 ? "***" : userInfo[..colon] + ":***";
        return text[..(scheme + 3)] + kept + text[at..];
    }
}

/// <summary>The <c>redis:</c> section of the configuration file.</summary>
internal sealed record RedisSection
{
    /// <summary><c>redis://…</c> or <c>rediss://…</c>; empty: a single node.</summary>
    public string? Connection { get; init; }

    /// <summary>A file holding the password (relative to the config file); overrides one in the URL.</summary>
    public string? PasswordFile { get; init; }

    public string? TlsCaFile { get; init; }

    public string? Timeout { get; init; }

    public bool? StreamEntries { get; init; }

    public long? StreamMaxLength { get; init; }
}
