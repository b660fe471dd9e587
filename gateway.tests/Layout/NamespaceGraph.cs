using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace AuditGateway.Tests.Layout;

/// <summary>
/// Which namespace of an assembly uses which, read from its metadata: base types, interfaces,
/// field and method signatures, and every type, method and field token in the method bodies
/// (so a lambda, an async method or an implicit use of a parent namespace counts too).
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph()
    {
    }

    public IReadOnlyCollection<string> Namespaces => _edges.Keys;

    /// <summary>The namespaces <paramref name="from"/> uses, each with one example (<c>Type -> Type</c>).</summary>
    public IReadOnlyDictionary<string, string> Uses(string from) => _edges.TryGetValue(from, out var to) ? to : [];

    public static NamespaceGraph Read(string assemblyPath, string rootNamespace)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var graph = new NamespaceGraph();
        var reader = new Reader(md, pe, rootNamespace);
        foreach (var handle in md.TypeDefinitions)
        {
            var ns = reader.NamespaceOf(handle);
            if (ns is null)
            {
                continue;
            }

            graph._edges.TryAdd(ns, new Dictionary<string, string>(StringComparer.Ordinal));
            foreach (var used in reader.TypesUsedBy(handle))
            {
                if (reader.NamespaceOf(used) is { } target && target != ns)
                {
                    graph._edges[ns].TryAdd(target, $"{reader.NameOf(handle)} -> {reader.NameOf(used)}");
                }
            }
        }

        return graph;
    }

    /// <summary>The strongly connected components with more than one namespace: each is a cycle.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<IReadOnlyList<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in Uses(node).Keys)
            {
                if (!index.TryGetValue(next, out var seen))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], seen);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    cycles.Add(component);
                }
            }
        }

        foreach (var node in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return cycles;
    }

    private sealed class Reader(MetadataReader md, PEReader pe, string root) : ISignatureTypeProvider<ImmutableArray<TypeDefinitionHandle>, object?>
    {
        private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value, o => o.OperandType);

        public string? NamespaceOf(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            while (type.GetDeclaringType() is { IsNil: false } outer)
            {
                type = md.GetTypeDefinition(outer);
            }

            var ns = md.GetString(type.Namespace);
            return ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal) ? ns : null;
        }

        public string NameOf(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            var name = md.GetString(type.Name);
            return type.GetDeclaringType() is { IsNil: false } outer ? NameOf(outer) + "+" + name : name;
        }

        public IEnumerable<TypeDefinitionHandle> TypesUsedBy(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            var used = new List<TypeDefinitionHandle>();
            used.AddRange(FromEntity(type.BaseType));
            foreach (var i in type.GetInterfaceImplementations())
            {
                used.AddRange(FromEntity(md.GetInterfaceImplementation(i).Interface));
            }

            foreach (var f in type.GetFields())
            {
                used.AddRange(md.GetFieldDefinition(f).DecodeSignature(this, null));
            }

            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                var signature = method.DecodeSignature(this, null);
                used.AddRange(signature.ReturnType);
                foreach (var parameter in signature.ParameterTypes)
                {
                    used.AddRange(parameter);
                }

                if (method.RelativeVirtualAddress != 0)
                {
                    var body = pe.GetMethodBody(method.RelativeVirtualAddress);
                    if (!body.LocalSignature.IsNil)
                    {
                        used.AddRange(md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null).SelectMany(t => t));
                    }

                    used.AddRange(FromBody(body));
                }
            }

            return used;
        }

        private IEnumerable<TypeDefinitionHandle> FromBody(MethodBodyBlock body)
        {
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                short value = il.ReadByte();
                if (value == 0xFE)
                {
                    value = unchecked((short)(0xFE00 | il.ReadByte()));
                }

                if (!Operands.TryGetValue(value, out var operand))
                {
                    throw new InvalidDataException($"unknown IL opcode 0x{value:X} at offset {il.Offset - 1} of {il.Length}");
                }

                switch (operand)
                {
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                        foreach (var t in FromEntity(MetadataTokens.EntityHandle(il.ReadInt32())))
                        {
                            yield return t;
                        }

                        break;
                    case OperandType.InlineSwitch:
                        var targets = il.ReadInt32();
                        il.Offset += 4 * targets;
                        break;
                    case OperandType.InlineI8 or OperandType.InlineR:
                        il.Offset += 8;
                        break;
                    case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                        il.Offset += 4;
                        break;
                    case OperandType.InlineVar:
                        il.Offset += 2;
                        break;
                    case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                        il.Offset += 1;
                        break;
                }
            }
        }

        private ImmutableArray<TypeDefinitionHandle> FromEntity(EntityHandle handle)
        {
            if (handle.IsNil)
            {
                return [];
            }

            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    return [(TypeDefinitionHandle)handle];
                case HandleKind.TypeSpecification:
                    return md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                case HandleKind.FieldDefinition:
                    return [md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType()];
                case HandleKind.MethodDefinition:
                    return [md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType()];
                case HandleKind.MemberReference:
                    var member = md.GetMemberReference((MemberReferenceHandle)handle);
                    return member.Parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeSpecification ? FromEntity((EntityHandle)member.Parent) : [];
                case HandleKind.MethodSpecification:
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    return [.. FromEntity(spec.Method), .. spec.DecodeSignature(this, null).SelectMany(t => t)];
                default:
                    return [];
            }
        }

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [handle];

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => [];

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        public ImmutableArray<TypeDefinitionHandle> GetGenericInstantiation(ImmutableArray<TypeDefinitionHandle> genericType, ImmutableArray<ImmutableArray<TypeDefinitionHandle>> typeArguments) =>
            [.. genericType, .. typeArguments.SelectMany(t => t)];

        public ImmutableArray<TypeDefinitionHandle> GetArrayType(ImmutableArray<TypeDefinitionHandle> elementType, ArrayShape shape) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetSZArrayType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetByReferenceType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetPointerType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetPinnedType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetModifiedType(ImmutableArray<TypeDefinitionHandle> modifier, ImmutableArray<TypeDefinitionHandle> unmodifiedType, bool isRequired) => unmodifiedType;

        public ImmutableArray<TypeDefinitionHandle> GetFunctionPointerType(MethodSignature<ImmutableArray<TypeDefinitionHandle>> signature) =>
            [.. signature.ReturnType, .. signature.ParameterTypes.SelectMany(t => t)];

        public ImmutableArray<TypeDefinitionHandle> GetGenericMethodParameter(object? genericContext, int index) => [];

        public ImmutableArray<TypeDefinitionHandle> GetGenericTypeParameter(object? genericContext, int index) => [];

        public ImmutableArray<TypeDefinitionHandle> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];
    }
}
