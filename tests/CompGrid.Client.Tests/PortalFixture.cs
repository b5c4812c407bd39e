using CompGrid.Client;
using CompGrid.SampleHost.Tests;

namespace CompGrid.Client.Tests;

/// <summary>One real sample host for the whole test run (started once), and clients for its development users.</summary>
public sealed class PortalFixture : IAsyncLifetime
{
    public HostProcess Host { get; } = new();

    public CompGridHttpClient Alice { get; private set; } = null!;
    public CompGridHttpClient Bob { get; private set; } = null!;
    public CompGridHttpClient Admin { get; private set; } = null!;

    public CompGridHttpClient Connect(string? token, Action<CompGridClientOptions>? configure = null)
    {
        var options = new CompGridClientOptions { BaseAddress = Host.BaseAddress, Token = token, PollInterval = TimeSpan.FromMilliseconds(100) };
        configure?.Invoke(options);
        return CompGridClient.Create(options);
    }

    public async Task InitializeAsync()
    {
        await Host.StartAsync();
        Alice = Connect("dev-alice-token");
        Bob = Connect("dev-bob-token");
        Admin = Connect("dev-admin-token");
    }

    public async Task DisposeAsync()
    {
        Alice?.Dispose();
        Bob?.Dispose();
        Admin?.Dispose();
        await Host.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PortalCollection : ICollectionFixture<PortalFixture>
{
    public const string Name = "portal";
}
