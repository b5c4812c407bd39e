using Microsoft.Playwright;
using CompGrid.SampleHost.Tests;
using CompGrid.Testing;

namespace CompGrid.Browser.Tests;

/// <summary>
/// One sample host (a real process on 127.0.0.1, as <c>dotnet run</c> starts it) and one headless Chromium for the
/// whole test run. Debian's Chromium (<c>eng/backends/browser.sh</c> installs it and sets <c>COMPGRID_CHROMIUM</c>) is
/// driven through <see cref="BrowserTypeLaunchOptions.ExecutablePath"/>: Playwright downloads nothing. Screenshots go to
/// <c>COMPGRID_BROWSER_ARTIFACTS</c> (the state folder's <c>test-results/browser</c> under eng/test.sh).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>The variable naming the Chromium executable.</summary>
    public const string ChromiumVariable = "COMPGRID_CHROMIUM";

    private IPlaywright? _playwright;

    public HostProcess Host { get; } = new();
    public IBrowser Browser { get; private set; } = null!;
    public string Artifacts { get; } = ArtifactsFolder();

    public async Task InitializeAsync()
    {
        // Without the browser the tests are skipped by [BackendFact] (or fail under COMPGRID_REQUIRE_BACKENDS=1, below).
        if (!BackendEnvironment.IsAvailable(ChromiumVariable) && !BackendEnvironment.Required) return;
        string chromium = Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } c ? c : "/usr/bin/chromium";
        if (!File.Exists(chromium)) throw new InvalidOperationException($"Chromium is not installed at {chromium}: run eng/backends/browser.sh start.");
        Directory.CreateDirectory(Artifacts);
        await Host.StartAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            // Test-backends reference §9: no sandbox (root), no GPU, and nothing that reaches out to Google's hosts.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        await Host.DisposeAsync();
    }

    /// <summary>A new browser context (its own cookies, as a separate person) with a page at <paramref name="width"/> × <paramref name="height"/>.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Host.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height }, AcceptDownloads = true,
        });
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <summary>Saves a full-page screenshot as a test artifact.</summary>
    public async Task ScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name + ".png"), FullPage = true });
    }

    private static string ArtifactsFolder()
    {
        if (Environment.GetEnvironmentVariable("COMPGRID_BROWSER_ARTIFACTS") is { Length: > 0 } dir) return dir;
        string state = Path.Combine(HostProcess.RepoRoot, ".state");
        return Directory.Exists(state) ? Path.Combine(state, "test-results", "browser") : Path.Combine(Path.GetTempPath(), "compgrid-browser-results");
    }
}

/// <summary>The browser tests share one host and one browser.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
