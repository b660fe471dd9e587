using AuditGateway.Routing;

namespace AuditGateway.Tests.Grpc;

/// <summary>The <c>backend-protocol</c> annotation, in both spellings, with its gRPC and HTTP/2 values.</summary>
public sealed class BackendProtocolAnnotationTests
{
    private static (BackendProtocol? Protocol, List<ValidationError> Errors) Parse(string key, string value)
    {
        var errors = new List<ValidationError>();
        var annotations = IngressAnnotations.Parse(new Dictionary<string, string> { [key] = value }, errors);
        return (annotations.BackendProtocol, errors);
    }

    [Theory]
    [InlineData("auditgateway.io/backend-protocol", "GRPC", "Grpc")]
    [InlineData("auditgateway.io/backend-protocol", "grpcs", "Grpcs")]
    [InlineData("auditgateway.io/backend-protocol", " H2C ", "H2c")]
    [InlineData("auditgateway.io/backend-protocol", "HTTPS", "Https")]
    [InlineData("nginx.ingress.kubernetes.io/backend-protocol", "GRPC", "Grpc")]
    [InlineData("nginx.ingress.kubernetes.io/backend-protocol", "GRPCS", "Grpcs")]
    [InlineData("nginx.ingress.kubernetes.io/backend-protocol", "http", "Http")]
    public void Each_value_gives_its_protocol(string key, string value, string expected)
    {
        var (protocol, errors) = Parse(key, value);

        Assert.Empty(errors);
        Assert.Equal(Enum.Parse<BackendProtocol>(expected), protocol);
    }

    [Theory]
    [InlineData("auditgateway.io/backend-protocol", "HTTP2", "'HTTP2' is not one of: HTTP, HTTPS, GRPC, GRPCS, H2C")]
    [InlineData("auditgateway.io/backend-protocol", "FCGI", "'FCGI' is not one of: HTTP, HTTPS, GRPC, GRPCS, H2C")]
    [InlineData("nginx.ingress.kubernetes.io/backend-protocol", "AUTO_HTTP", "'AUTO_HTTP' is not one of: HTTP, HTTPS, GRPC, GRPCS")]
    [InlineData("nginx.ingress.kubernetes.io/backend-protocol", "H2C", "'H2C' is not one of: HTTP, HTTPS, GRPC, GRPCS")]
    public void Other_values_are_refused_naming_the_field_and_the_values_known(string key, string value, string message)
    {
        var (protocol, errors) = Parse(key, value);

        Assert.Null(protocol);
        var error = Assert.Single(errors);
        Assert.Equal($"metadata.annotations[{key}]", error.Field);
        Assert.Equal(message, error.Message);
    }
}
