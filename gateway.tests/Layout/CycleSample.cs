namespace AuditGateway.Tests.Layout.CycleSample.First
{
    /// <summary>Half of a deliberate namespace cycle, for <see cref="NamespaceCycleTests"/>: uses Second only inside a lambda.</summary>
    internal static class Head
    {
        public static Func<int> Next => () => Second.Tail.Value + 1;
    }
}

namespace AuditGateway.Tests.Layout.CycleSample.Second
{
    /// <summary>The other half: uses First through a field's type.</summary>
    internal static class Tail
    {
        public static readonly Func<int>? Back = First.Head.Next;

        public static int Value => 1;
    }
}
