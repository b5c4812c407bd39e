using CompGrid.Testing;

namespace CompGrid.Billing.Tests.Stores;

/// <summary>The billing store suite of CompGrid.Testing on the in-memory store (the SQLite and PostgreSQL stores run it in their own test projects).</summary>
[Trait("Category", "Billing")]
public sealed class InMemoryBillingStoreTests : BillingStoreConformanceTests
{
    protected override Task<IBillingStore> CreateStoreAsync() => Task.FromResult<IBillingStore>(new InMemoryBillingStore());
}
