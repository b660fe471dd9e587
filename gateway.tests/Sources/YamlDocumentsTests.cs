using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Configuration;

namespace AuditGateway.Tests.Sources;

public sealed class YamlDocumentsTests
{
    [Fact]
    public void Plain_scalars_are_typed_and_quoted_ones_stay_strings()
    {
        var doc = YamlDocuments.Parse("a: 80\nb: \"80\"\nc: true\nd: 'false'\ne: ~\nf: 1.5\ng: 0x1F\nh: 010.0.0.1\ni: -3\n").Single();
        var root = doc.Root!.AsObject();
        Assert.Equal(JsonValueKind.Number, root["a"]!.GetValueKind());
        Assert.Equal("80", root["b"]!.GetValue<string>());
        Assert.True(root["c"]!.GetValue<bool>());
        Assert.Equal("false", root["d"]!.GetValue<string>());
        Assert.Null(root["e"]);
        Assert.True(root.ContainsKey("e"));
        Assert.Equal(1.5, root["f"]!.GetValue<double>());
        Assert.Equal(31, root["g"]!.GetValue<long>());
        Assert.Equal("010.0.0.1", root["h"]!.GetValue<string>());
        Assert.Equal(-3, root["i"]!.GetValue<long>());
    }

    [Fact]
    public void Documents_are_split_with_their_lines_and_anchors_resolve()
    {
        var docs = YamlDocuments.Parse("a: &x { p: 1 }\nb: *x\n---\n# empty\n---\nc: [1, 2]\n");
        Assert.Equal(3, docs.Count);
        Assert.True(JsonNode.DeepEquals(docs[0].Root!["a"], docs[0].Root!["b"]));
        Assert.Null(docs[1].Root);
        Assert.Equal(5, docs[2].Line);
    }

    [Theory]
    [InlineData("a: [1, 2\nb: 3\n", 1)]
    [InlineData("a: 1\na: 2\n", 2)]
    [InlineData("a:\n  - 1\n - 2\n", 3)]
    public void Syntax_errors_carry_the_line(string text, int line)
    {
        var error = Assert.Throws<YamlSyntaxException>(() => YamlDocuments.Parse(text));
        Assert.Equal(line, error.Line);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
