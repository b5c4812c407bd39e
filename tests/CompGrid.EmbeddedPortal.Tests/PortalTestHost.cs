using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.EmbeddedPortal.Tests;

/// <summary>
/// The portal started for real: its own Portal.Build on Kestrel at 127.0.0.1 with a free port, its appsettings.json,
/// a database and work directory of its own. A test may pass a clock; otherwise the system clock runs the engine.
/// </summary>
public sealed class PortalTestHost : IAsyncDisposable
{
    public const string AliceKey = "alice-demo-key"; // the demo keys whose hashes appsettings.json holds
    public const string BobKey = "bob-demo-key";

    private readonly WebApplication _app;
    private readonly TempDirectory _directory;

    private PortalTestHost(WebApplication app, TempDirectory directory, Uri address)
    {
        _app = app;
        _directory = directory;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<PortalTestHost> StartAsync(TimeProvider? clock = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = new TempDirectory();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Portal:DatabasePath"] = Path.Combine(directory.Path, "portal.db"),
            ["CompGrid:Process:WorkDirectory"] = Path.Combine(directory.Path, "work"),
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        if (clock is not null) builder.Services.AddSingleton(clock);
        var app = Portal.Build(builder);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            directory.Dispose();
            throw;
        }
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new PortalTestHost(app, directory, new Uri(address));
    }

    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = Address };
        if (apiKey is not null) client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    /// <summary>Reads real state until it satisfies <paramref name="done"/>; bounded (30 s), fails with the last value.</summary>
    public static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var sw = Stopwatch.StartNew();
        T last;
        while (!done(last = await read()))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"still {last} after 30 s");
            await Task.Delay(50);
        }
        return last;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _directory.Dispose();
    }
}
