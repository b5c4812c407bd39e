using CompGrid.Billing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.PowerShell;

/// <summary>
/// Builds and starts an engine from a JSON configuration file laid out like the sample host's <c>appsettings.json</c>
/// (a <c>CompGrid</c> section, or the section's keys at the root): the Local backend, the SQLite store in
/// <c>DataDirectory</c> (relative to the file), stewardship, and grant billing when a <c>Billing</c> section has rate cards.
/// </summary>
internal static class InProcessEngineFactory
{
    public static async Task<CompGridConnection> ConnectAsync(string configurationFile, string user, CancellationToken cancellationToken)
    {
        string path = Path.GetFullPath(configurationFile);
        if (!File.Exists(path))
            throw new JobValidationException("ConfigurationFile", $"the file '{path}' does not exist");
        IConfigurationRoot root;
        try { root = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build(); }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new JobValidationException("ConfigurationFile", $"'{path}' is not valid JSON configuration: {ex.Message}");
        }
        IConfiguration config = root.GetSection("CompGrid").Exists() ? root.GetSection("CompGrid") : root;
        string baseDirectory = Path.GetDirectoryName(path)!;
        string data = Path.GetFullPath(config["DataDirectory"] ?? "App_Data", baseDirectory);
        Directory.CreateDirectory(data);
        string db = Path.Combine(data, "compgrid.db");
        bool billing = config.GetSection("Billing:RateCards").GetChildren().Any();

        var services = new ServiceCollection();
        var grid = services.AddCompGrid()
            .BindConfiguration(config)
            .AddLocalBackend("local", config.GetSection("Local"))
            .Configure(o => o.DefaultBackend ??= "local")
            .UseSqliteStore(db)
            .ConfigureScheduling(config.GetSection("Scheduling"));
        if (config.GetSection("Stewardship").Exists()) grid.AddStewardship(config.GetSection("Stewardship"));
        if (billing) grid.UseSqliteBillingStore(db).AddGrantBilling(config.GetSection("Billing"));
        services.PostConfigure<CompGrid.Local.LocalBackendOptions>("local", o =>
        {
            if (string.IsNullOrEmpty(config["Local:StateDirectory"])) o.StateDirectory = Path.Combine(data, "local");
        });

        var provider = services.BuildServiceProvider(validateScopes: true);
        var owned = new EngineLifetime(provider);
        try
        {
            var engine = provider.GetRequiredService<CompGridEngine>();
            owned.Engine = engine;
            ICompGridBilling? billingView = null;
            if (billing)
            {
                var service = provider.GetRequiredService<GrantBillingService>();
                await service.InitializeAsync(cancellationToken).ConfigureAwait(false);
                billingView = new InProcessBilling(service, provider.GetRequiredService<TimeProvider>());
            }
            await engine.StartAsync(cancellationToken).ConfigureAwait(false);
            return new CompGridConnection(CompGridConnectionKind.InProcess, path, user, engine, billingView, owned);
        }
        catch
        {
            await owned.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops the engine's loop, then disposes the services it was built from (the stores close).</summary>
    private sealed class EngineLifetime(ServiceProvider provider) : IAsyncDisposable
    {
        public CompGridEngine? Engine { get; set; }

        public async ValueTask DisposeAsync()
        {
            if (Engine is not null) await Engine.StopAsync().ConfigureAwait(false);
            await provider.DisposeAsync().ConfigureAwait(false);
        }
    }
}
