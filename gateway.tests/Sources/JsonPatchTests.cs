using System.Text.Json.Nodes;
using AuditGateway.ControlPlane;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Tests.Sources;

public sealed class JsonPatchTests
{
    [Theory]
    [InlineData("""{"a":1,"b":{"c":[1,2]}}""", """{"a":2,"b":{"c":[1,3]},"d":"x"}""")]
    [InlineData("""{"spec":{"rules":[{"host":"a"}]}}""", """{"spec":{"rules":[{"host":"a"},{"host":"b"}]}}""")]
    [InlineData("""{"m":{"k/with~odd":"1","gone":true}}""", """{"m":{"k/with~odd":"2"}}""")]
    [InlineData("""{"a":null}""", """{"a":{"b":1}}""")]
    [InlineData("""{"a":1}""", """{"a":1}""")]
    public void Applying_the_diff_gives_the_new_document(string before, string after)
    {
        var from = JsonNode.Parse(before);
        var to = JsonNode.Parse(after);
        var patch = JsonPatch.Diff(from, to);
        Assert.True(JsonNode.DeepEquals(to, Apply(from!.DeepClone(), patch)), patch.ToJsonString());
    }

    [Fact]
    public void A_created_object_is_added_at_the_root_and_a_deleted_one_removed()
    {
        Assert.Equal("""[{"op":"add","path":"","value":{"spec":{"a":1}}}]""", JsonPatch.Diff(null, JsonNode.Parse("""{"spec":{"a":1}}""")).ToJsonString());
        Assert.Equal("""[{"op":"remove","path":""}]""", JsonPatch.Diff(JsonNode.Parse("""{"spec":{"a":1}}"""), null).ToJsonString());
    }

    [Fact]
    public void Paths_escape_tilde_and_slash()
    {
        var patch = JsonPatch.Diff(JsonNode.Parse("""{"a/b~c":1}"""), JsonNode.Parse("""{"a/b~c":2}"""));
        Assert.Equal("""[{"op":"replace","path":"/a~1b~0c","value":2}]""", patch.ToJsonString());
    }

    [Fact]
    public void Secret_values_are_hashed_and_last_applied_is_left_out()
    {
        var json = (JsonObject)JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/tls","metadata":{"name":"s","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{secret}","team":"a"}},"data":{"tls.key":"c2VjcmV0"}}
            """)!;
        Assert.True(ResourceReader.TryRead(json, null, out var secret));
        var view = JsonPatch.AuditableView(secret)!.ToJsonString();
        Assert.DoesNotContain("c2VjcmV0", view, StringComparison.Ordinal);
        Assert.DoesNotContain("last-applied", view, StringComparison.Ordinal);
        Assert.Contains("sha256:", view, StringComparison.Ordinal);
        Assert.Contains("\"team\":\"a\"", view, StringComparison.Ordinal);
    }

    /// <summary>A minimal RFC 6902 applier for add, remove and replace, to check diffs by their effect.</summary>
    private static JsonNode? Apply(JsonNode? document, JsonArray patch)
    {
        foreach (var op in patch)
        {
            var path = op!["path"]!.GetValue<string>();
            var value = op["value"]?.DeepClone();
            if (path.Length == 0)
            {
                document = value;
                continue;
            }

            var tokens = path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
            var parent = document!;
            foreach (var token in tokens[..^1])
            {
                parent = parent is JsonArray array ? array[int.Parse(token, System.Globalization.CultureInfo.InvariantCulture)]! : parent[token]!;
            }

            var last = tokens[^1];
            switch (op["op"]!.GetValue<string>(), parent)
            {
                case ("remove", JsonObject obj):
                    obj.Remove(last);
                    break;
                case ("remove", JsonArray arr):
                    arr.RemoveAt(int.Parse(last, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case (_, JsonArray arr):
                    arr[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = value;
                    break;
                case (_, JsonObject obj):
                    obj[last] = value;
                    break;
            }
        }

        return document;
    }
}
