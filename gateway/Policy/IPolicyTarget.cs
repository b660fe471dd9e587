namespace AuditGateway.Policy;

/// <summary>
/// What the policy engine reads of the route a request matched: its id (rate-limit buckets are per
/// route), the Ingress its rules come from (rule ids name it) and the Ingress's policy.
/// </summary>
internal interface IPolicyTarget
{
    string Id { get; }

    string Namespace { get; }

    string Ingress { get; }

    RoutePolicy? Policy { get; }
}
