using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>A host with a small upload limit, so the limit itself can be exceeded cheaply.</summary>
public sealed class FileHostFixture() : ConfiguredHostFixture("--CompGrid:Files:MaxUploadBytes=4096");

/// <summary>Files through the HTTP API: upload inputs, run a job on them, download its outputs; limits and path rules.</summary>
[Trait("Category", "SampleHost")]
public sealed class FileApiTests(FileHostFixture fixture) : IClassFixture<FileHostFixture>
{
    private HttpClient Alice => fixture.Host.Client("dev-alice-token");
    private HttpClient Bob => fixture.Host.Client("dev-bob-token");

    private static MultipartFormDataContent Files(params (string Name, string Text)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, text) in files)
        {
            var part = new StringContent(text);
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"file\"", FileName = "\"" + name + "\"" };
            form.Add(part);
        }
        return form;
    }

    private async Task<string> UploadAsync(HttpClient http, params (string, string)[] files)
    {
        var r = await http.PostAsync("/api/uploads", Files(files));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task UploadInputs_JobReadsThem_OutputDownloadsAfter()
    {
        string upload = await UploadAsync(Alice, ("numbers.txt", "3\n4\n"), ("conf/name.txt", "files-test"));
        var job = await Alice.PostJobAsync(new
        {
            command = "cat in/conf/name.txt && awk '{s+=$1} END {print s}' in/numbers.txt > sum.txt && mkdir -p res && echo deep > res/deep.txt",
            inputs = new[] { new { upload, destination = "in" } },
            outputs = new[] { new { source = "sum.txt" }, new { source = "res" } },
        });
        string id = job["id"]!.GetValue<string>();
        var done = await Alice.WaitForStateAsync(id, HttpJson.Terminal.Contains, TimeSpan.FromSeconds(60));
        Assert.True(done["state"]!.GetValue<string>() == "Completed", done.ToJsonString());
        Assert.Contains("files-test", await Alice.GetStringAsync($"/api/jobs/{id}/logs"), StringComparison.Ordinal);

        // Outputs are copied out just after the job turns terminal: poll the listing (bounded) until they are there.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        JsonArray listing;
        while ((listing = JsonNode.Parse(await Alice.GetStringAsync($"/api/jobs/{id}/outputs"))!["files"]!.AsArray()).Count < 2 && sw.Elapsed < TimeSpan.FromSeconds(20))
            await Task.Delay(100);
        Assert.Equal(["res/deep.txt", "sum.txt"], listing.Select(f => f!["path"]!.GetValue<string>()).ToArray());
        Assert.Equal("7\n", await Alice.GetStringAsync($"/api/jobs/{id}/outputs/sum.txt"));
        Assert.Equal("deep\n", await Alice.GetStringAsync($"/api/jobs/{id}/outputs/res/deep.txt"));
        // Another user sees neither the job's outputs nor the upload.
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/api/jobs/{id}/outputs/sum.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Bob.GetAsync($"/api/uploads/{upload}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Alice.GetAsync($"/api/jobs/{id}/outputs/missing.txt")).StatusCode);
    }

    [Fact]
    public async Task Upload_OverTheLimit_Gets413AndKeepsNothing()
    {
        var r = await Alice.PostAsync("/api/uploads", Files(("big.bin", new string('x', 5000))));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(fixture.Host.DataDirectory, "uploads"), "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("/etc/passwd")]
    public async Task Upload_PathEscapingTheUpload_IsRejectedNamingTheFile(string name)
    {
        var r = await Alice.PostAsync("/api/uploads", Files((name, "x")));
        string text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("files[0]", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Job_WithAnotherUsersUpload_IsRejectedNamingTheField()
    {
        string upload = await UploadAsync(Bob, ("secret.txt", "bob's"));
        var problem = await Alice.PostJobAsync(new { command = "cat secret.txt", inputs = new[] { new { upload } } }, HttpStatusCode.BadRequest);
        Assert.Contains("inputs[0].upload", problem.ToJsonString(), StringComparison.Ordinal);
        var bad = await Alice.PostJobAsync(new { command = "true", outputs = new[] { new { source = "../../etc" } } }, HttpStatusCode.BadRequest);
        Assert.Contains("outputs[0].source", bad.ToJsonString(), StringComparison.Ordinal);
    }
}
