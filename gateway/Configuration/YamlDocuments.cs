using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AuditGateway.Configuration;

/// <summary>One YAML document converted to JSON, with the line it starts on.</summary>
internal sealed record YamlDocument(JsonNode? Root, int Line);

/// <summary>A YAML syntax error with the position the parser reported.</summary>
internal sealed class YamlSyntaxException(string message, int line, int column, Exception inner)
    : Exception(message, inner)
{
    public int Line { get; } = line;
    public int Column { get; } = column;
}

/// <summary>
/// Reads multi-document YAML into JSON nodes. Plain scalars are typed with the YAML 1.2
/// core schema (null, booleans, integers, floats); quoted scalars stay strings, so
/// <c>"80"</c> and <c>80</c> differ exactly as they do for kubectl.
/// </summary>
internal static class YamlDocuments
{
    public static IReadOnlyList<YamlDocument> Parse(string text)
    {
        var documents = new List<YamlDocument>();
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out var start))
            {
                var anchors = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
                var root = ReadNode(parser, anchors);
                parser.Consume<DocumentEnd>();
                documents.Add(new YamlDocument(root, (int)start.Start.Line));
            }

            parser.Consume<StreamEnd>();
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner reports some malformed input this way, without a position:
            // the last event read is the closest place we know.
            var at = parser.Current?.End ?? Mark.Empty;
            throw new YamlSyntaxException("malformed YAML after this point", (int)at.Line, (int)at.Column, e);
        }
        catch (YamlException e)
        {
            var reason = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new YamlSyntaxException(Shorten(reason), (int)e.Start.Line, (int)e.Start.Column, e);
        }

        return documents;
    }

    private static string Shorten(string message)
    {
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): ".
        var at = message.LastIndexOf("): ", StringComparison.Ordinal);
        return at >= 0 ? message[(at + 3)..] : message;
    }

    private static JsonNode? ReadNode(IParser parser, Dictionary<string, JsonNode?> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!anchors.TryGetValue(alias.Value.Value, out var target))
            {
                throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
            }

            return target?.DeepClone();
        }

        JsonNode? node;
        string? anchor;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            anchor = scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value;
            node = ScalarValue(scalar);
        }
        else if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            anchor = sequenceStart.Anchor.IsEmpty ? null : sequenceStart.Anchor.Value;
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                array.Add(ReadNode(parser, anchors));
            }

            node = array;
        }
        else
        {
            var mappingStart = parser.Consume<MappingStart>();
            anchor = mappingStart.Anchor.IsEmpty ? null : mappingStart.Anchor.Value;
            var obj = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyEvent = parser.Current;
                var key = ReadNode(parser, anchors);
                var name = key switch
                {
                    JsonValue v => v.ToString(),
                    null => "null",
                    _ => throw new YamlException(keyEvent!.Start, keyEvent.End, "a mapping key must be a scalar"),
                };
                var value = ReadNode(parser, anchors);
                if (name == "<<" && value is JsonObject merge)
                {
                    foreach (var (k, v) in merge)
                    {
                        if (!obj.ContainsKey(k))
                        {
                            obj[k] = v?.DeepClone();
                        }
                    }

                    continue;
                }

                if (obj.ContainsKey(name))
                {
                    throw new YamlException(keyEvent!.Start, keyEvent.End, $"duplicate key '{name}'");
                }

                obj[name] = value;
            }

            node = obj;
        }

        if (anchor is not null)
        {
            anchors[anchor] = node;
        }

        return node;
    }

    private static JsonValue? ScalarValue(Scalar scalar)
    {
        var text = scalar.Value;
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:str")
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (IsDecimalInteger(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (text.StartsWith("0x", StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return JsonValue.Create(hex);
        }

        if (LooksLikeFloat(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(text);
    }

    private static bool IsDecimalInteger(string text)
    {
        var digits = text.AsSpan(text[0] is '-' or '+' ? 1 : 0);
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9');
    }

    private static bool LooksLikeFloat(string text)
    {
        var body = text.AsSpan(text[0] is '-' or '+' ? 1 : 0);
        return body.Length > 0 && char.IsAsciiDigit(body[0]) || (body.Length > 1 && body[0] == '.' && char.IsAsciiDigit(body[1]));
    }
}
