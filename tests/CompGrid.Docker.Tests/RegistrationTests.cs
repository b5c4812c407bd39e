using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CompGrid.Docker.Tests;

[Trait("Category", "Docker")]
public sealed class RegistrationTests
{
    private sealed class Builder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    [Fact]
    public async Task AddDockerBackend_Lambda_RegistersNamedBackendPlacedByCompGrid()
    {
        var services = new ServiceCollection();
        new Builder(services).AddDockerBackend("lab", o =>
        {
            o.Engines = [new DockerEngineOptions { Name = "lab-a", Endpoint = "unix:///run/a.sock" }, new DockerEngineOptions { Name = "lab-b", Endpoint = "tcp://127.0.0.3:2376", Gpus = 2 }];
        });
        await using var provider = services.BuildServiceProvider();
        var backend = Assert.Single(provider.GetServices<IComputeBackend>());
        Assert.Equal("lab", backend.Name);
        Assert.False(backend.Capabilities.PlacesJobsItself);
        Assert.True(backend.Capabilities.Containers);
        Assert.True(backend.Capabilities.Gpus);
        Assert.Equal([PayloadKind.Container], backend.Capabilities.Payloads);
    }

    [Fact]
    public async Task AddDockerBackend_Configuration_BindsEnginesAndDefaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Docker:lab:DefaultImage"] = "compgrid/busybox:test",
            ["Docker:lab:StopTimeout"] = "00:00:03",
            ["Docker:lab:Engines:0:Name"] = "lab-a",
            ["Docker:lab:Engines:0:Endpoint"] = "unix:///run/a.sock",
            ["Docker:lab:Engines:1:Name"] = "lab-b",
            ["Docker:lab:Engines:1:Endpoint"] = "unix:///run/b.sock",
            ["Docker:lab:Engines:1:Features:0"] = "big",
        }).Build();
        var services = new ServiceCollection();
        new Builder(services).AddDockerBackend("lab", config.GetSection("Docker:lab"));
        await using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptionsMonitor<DockerBackendOptions>>().Get("lab");
        Assert.Equal(["lab-a", "lab-b"], options.Engines.Select(e => e.Name).ToArray());
        Assert.Equal(["big"], options.Engines[1].Features);
        Assert.Equal(TimeSpan.FromSeconds(3), options.StopTimeout);
        Assert.Equal("65534:65534", options.User);
        Assert.Contains(PayloadKind.CommandLine, provider.GetServices<IComputeBackend>().Single().Capabilities.Payloads);
    }

    [Fact]
    public async Task AddDockerBackend_BadOptions_FailValidationNamingTheSetting()
    {
        var services = new ServiceCollection();
        new Builder(services).AddDockerBackend("lab", o =>
        {
            o.Engines = [new DockerEngineOptions { Name = "a", Endpoint = "unix://relative" }, new DockerEngineOptions { Name = "a", Endpoint = "unix:///x" }];
            o.User = "nobody";
        });
        await using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<DockerBackendOptions>>().Get("lab"));
        string all = string.Join("\n", e.Failures);
        Assert.Contains("Engines[0].Endpoint", all, StringComparison.Ordinal);
        Assert.Contains("Engines[1].Name 'a' is used by two engines", all, StringComparison.Ordinal);
        Assert.Contains("User must be numeric", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NoEngines_ThrowsWithMessage()
    {
        var e = Assert.Throws<CompGridException>(() => DockerBackend.Create("lab", new DockerBackendOptions()));
        Assert.Contains("Engines must list at least one engine", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_UnreachableEngine_NodeDownWithReason()
    {
        var backend = DockerBackend.Create("lab", new DockerBackendOptions
        {
            Engines = [new DockerEngineOptions { Name = "gone", Endpoint = "unix:///tmp/cg-missing-" + Guid.NewGuid().ToString("N") + ".sock" }],
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        await using var _ = (IAsyncDisposable)backend;
        var node = Assert.Single(await backend.GetNodesAsync());
        Assert.Equal(NodeState.Down, node.State);
        Assert.Contains("unreachable", node.Reason, StringComparison.Ordinal);
        Assert.Null(await backend.GetStatusAsync("999999999"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => backend.CancelAsync("nope"));
    }
}
