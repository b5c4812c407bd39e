using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CompGrid.Testing;

namespace CompGrid.Notebooks.Tests;

/// <summary>
/// Executes every notebook of samples/notebooks headless, as a user's Jupyter would (nbconvert with the .NET Interactive
/// C# kernel), and checks what its cells printed. eng/backends/notebooks.sh installs Jupyter and the kernel, packs the
/// local feed the notebooks load CompGrid from, and sets COMPGRID_JUPYTER_CLI.
/// </summary>
[Trait("Category", "Notebooks")]
public sealed class NotebookTests
{
    private const string Env = "COMPGRID_JUPYTER_CLI";   // the `jupyter` command (nbconvert); COMPGRID_JUPYTER is the notebook server of the session tests

    [BackendFact("Notebooks", Env)]
    public async Task GettingStarted_ShowsTheJobCompletedAndItsLog()
    {
        string text = await ExecuteAsync("getting-started");
        Assert.Contains("hello from a notebook", text, StringComparison.Ordinal);
        Assert.Contains("Linux", text, StringComparison.Ordinal);
        Assert.Contains("Running -> Completed", text, StringComparison.Ordinal);
        Assert.Contains("<b>Completed</b>", text, StringComparison.Ordinal);   // the registered JobRecord formatter
    }

    [BackendFact("Notebooks", Env)]
    public async Task Billing_ShowsQuoteStatementChargesAndTheUsageChart()
    {
        string text = await ExecuteAsync("billing");
        Assert.Matches(@"quote: 13(\.00)? CRD, affordable: True", text);   // 2 CPUs × 1/6 h × 36 + 1 fee
        Assert.Contains("chem-101", text, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(text, "charge "));
        Assert.Matches(@"usage alice: 2 jobs, \d+\.\d{2} CRD", text);
        Assert.Matches(@"usage bob: 1 jobs, \d+\.\d{2} CRD", text);
        Assert.Contains("<svg", text, StringComparison.Ordinal);
    }

    [BackendFact("Notebooks", Env)]
    public async Task WhatIf_ShowsTheComparisonOfTwoPoliciesAndThePlot()
    {
        string text = await ExecuteAsync("what-if");
        Assert.Contains("what-if on ", text, StringComparison.Ordinal);
        Assert.Matches(@"metric\s+fifo\+strict\s+multifactor\+easy\s+change", text);
        Assert.Matches(@"mean wait \(s\)\s+\d+\.\d\s+\d+\.\d", text);
        Assert.Matches(@"waits: fifo\+strict mean \d+ s, multifactor\+easy mean \d+ s", text);
        Assert.Contains("<svg", text, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string line) =>
        text.Split('\n').Count(l => l.TrimStart().StartsWith(line, StringComparison.Ordinal));

    /// <summary>Runs the notebook with nbconvert and returns every output of every cell (text and HTML), errors failing the test.</summary>
    private static async Task<string> ExecuteAsync(string name)
    {
        string notebooks = Path.Combine(RepoRoot, "samples", "notebooks");
        string outDir = Path.Combine(Path.GetTempPath(), "cg-nb-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(outDir);
        var psi = new ProcessStartInfo(BackendEnvironment.Get(Env, "Notebooks"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = notebooks,
        };
        foreach (string a in (string[])["nbconvert", "--to", "notebook", "--execute", name + ".ipynb", "--output-dir", outDir, "--output", name,
                     "--ExecutePreprocessor.timeout=240", "--ExecutePreprocessor.kernel_name=.net-csharp"])
            psi.ArgumentList.Add(a);
        string tools = Environment.GetEnvironmentVariable("COMPGRID_DOTNET_TOOLS") is { Length: > 0 } t ? t : Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".dotnet", "tools");
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") + ":" + tools;
        psi.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        // The notebooks' #r "nuget:…" restores see the local feed through this MSBuild property (from the environment).
        psi.Environment["RestoreAdditionalProjectSources"] = BackendEnvironment.Get("COMPGRID_NOTEBOOK_FEED", "Notebooks");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"nbconvert {name} did not finish: {await stderr}");
        }
        Assert.True(p.ExitCode == 0, $"nbconvert {name} exited {p.ExitCode}: {await stdout}{await stderr}");
        var executed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, name + ".ipynb")))!;
        var text = new StringBuilder();
        foreach (var cell in executed["cells"]!.AsArray())
        {
            if (cell!["cell_type"]!.GetValue<string>() != "code") continue;
            foreach (var output in cell["outputs"]!.AsArray())
            {
                Assert.False(output!["output_type"]!.GetValue<string>() == "error", $"{name}: a cell failed: {output.ToJsonString()}");
                if (output["text"] is { } streamText) text.Append(Join(streamText));
                if (output["data"] is JsonObject data)
                    foreach (var (_, value) in data) text.Append(Join(value!)).Append('\n');
            }
        }
        Directory.Delete(outDir, recursive: true);
        return text.ToString();
    }

    private static string Join(JsonNode node) => node is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : node.ToString();

    private static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CompGrid.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("CompGrid.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
