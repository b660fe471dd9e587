using System.Text.Json;
using AuditGateway.Audit.Entries;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>
/// The ValidatingAdmissionWebhook for Ingresses (<c>POST /k8s/admission</c>): an Ingress of our
/// class that would be refused is rejected at <c>kubectl</c> time with the fields named; every
/// allowed CREATE, UPDATE and DELETE leaves the user and the old→new diff in the
/// <see cref="AttributionStore"/> for the watch event that follows.
/// </summary>
internal sealed class AdmissionWebhook(AttributionStore store, ClassOptions classes, Func<IReadOnlyCollection<IngressClass>> knownClasses, TimeProvider time)
{
    /// <summary>Answers a review; an allowed write's report is recorded (and, with replicas, shared) before the answer.</summary>
    public async Task<AdmissionReview> ReviewAsync(AdmissionReview review)
    {
        var request = review.Request ?? throw new JsonException("request: required");
        var uid = request.Uid ?? throw new JsonException("request.uid: required");
        if (request.Resource?.Resource != "ingresses" || !string.IsNullOrEmpty(request.SubResource))
        {
            return Answer(uid, null);
        }

        string? problem = null;
        Ingress? ingress = null;
        if (request.Operation is "CREATE" or "UPDATE" && request.Object is { } obj)
        {
            try
            {
                ingress = obj.Deserialize(KubeJsonContext.Default.Ingress);
            }
            catch (JsonException e)
            {
                problem = $"{e.Path?.TrimStart('$', '.')}: {e.Message.Split(". ")[0]}";
            }

            if (ingress is not null && IngressClassFilter.IsOurs(ingress, knownClasses().ToDictionary(c => c.Metadata?.Name ?? "", StringComparer.Ordinal), classes))
            {
                var errors = new List<ValidationError>();
                IngressValidator.Validate(ingress, errors);
                if (errors.Count > 0)
                {
                    problem = string.Join("; ", errors);
                }
            }
        }

        if (problem is null && request.DryRun != true)
        {
            await RecordActorAsync(request);
        }

        return Answer(uid, problem);
    }

    private Task RecordActorAsync(AdmissionRequest request)
    {
        var target = request.Operation == "DELETE" ? request.OldObject : request.Object;
        var objectUid = (string?)target?["metadata"]?["uid"];
        if (objectUid is null || request.Operation is not ("CREATE" or "UPDATE" or "DELETE"))
        {
            return Task.CompletedTask;
        }

        var user = request.UserInfo;
        var meta = request.Object?["metadata"]?.Deserialize(KubeJsonContext.Default.ObjectMeta);
        var manager = request.Operation == "DELETE" ? null : SourceClassifier.Newest(meta)?.Manager;
        var change = new ObservedChange(
            new ChangeActor { Username = user?.Username, Groups = user?.Groups ?? [], Via = ActorSource.Admission },
            SourceClassifier.Classify(null, manager, user?.Username),
            time.GetUtcNow())
        {
            Diff = JsonPatch.Diff(View(request.OldObject), View(request.Object)),
        };
        var key = request.Operation == "CREATE"
            ? AttributionKey.Created(objectUid)
            : AttributionKey.Replacing(objectUid, request.Operation.ToLowerInvariant(), (string?)request.OldObject?["metadata"]?["resourceVersion"]);
        return store.RecordAsync(key, change);
    }

    private static System.Text.Json.Nodes.JsonObject? View(System.Text.Json.Nodes.JsonObject? obj)
    {
        try
        {
            return obj is not null && ResourceReader.TryRead((System.Text.Json.Nodes.JsonObject)obj.DeepClone(), null, out var resource)
                ? JsonPatch.AuditableView(resource)
                : null;
        }
        catch (ResourceFormatException)
        {
            return null;
        }
    }

    private static AdmissionReview Answer(string uid, string? problem) => new()
    {
        ApiVersion = "admission.k8s.io/v1",
        Kind = "AdmissionReview",
        Response = problem is null
            ? new AdmissionResponse { Uid = uid, Allowed = true }
            : new AdmissionResponse
            {
                Uid = uid,
                Allowed = false,
                Status = new AdmissionStatus { Code = 400, Reason = "BadRequest", Message = "auditgateway refuses this Ingress: " + problem },
            },
    };
}
