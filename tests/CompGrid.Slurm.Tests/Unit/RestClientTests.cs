using System.Net;
using System.Text;
using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Rest;

namespace CompGrid.Slurm.Tests.Unit;

/// <summary>The REST client over a hand-written HTTP handler: headers, token renewal, discovery, error mapping.</summary>
[Trait("Category", "Slurm")]
public sealed class RestClientTests : IDisposable
{
    private readonly string _tokenFile = Path.GetTempFileName();

    public void Dispose() => File.Delete(_tokenFile);

    private SlurmRestClient Create(FakeHandler handler, string? version = "v0.0.38", string? actAsUser = null)
    {
        var options = new SlurmBackendOptions
        {
            Transport = SlurmTransport.Rest,
            RestUrl = new Uri("http://slurm.test:6820"),
            RestApiVersion = version,
            TokenFile = _tokenFile,
            TokenUser = actAsUser ?? "svc",
            OutputDirectory = "/jobs",
        };
        return new SlurmRestClient(options, "t", TimeProvider.System, new HttpClient(handler), (dir, file, max, ct) => Logs.LocalLogFile.ReadTailAsync(dir, file, max, "t", ct), null);
    }

    [Fact]
    public async Task Request_SendsUserAndTokenHeaders_AndRenewsTheTokenOnceAfter401()
    {
        await File.WriteAllTextAsync(_tokenFile, "old-token");
        var handler = new FakeHandler(req =>
        {
            string token = req.Headers.GetValues("X-SLURM-USER-TOKEN").Single();
            Assert.Equal("svc", req.Headers.GetValues("X-SLURM-USER-NAME").Single());
            if (token == "old-token")
            {
                File.WriteAllText(_tokenFile, "SLURM_JWT=new-token\n"); // rotated by an outside job
                return (HttpStatusCode.Unauthorized, "Authentication failure");
            }
            return (HttpStatusCode.OK, """{"errors":[],"nodes":[{"name":"n1","state":"idle","cpus":2,"real_memory":100,"partitions":["debug"]}]}""");
        });
        var nodes = await Create(handler).GetNodesAsync("t", default);
        Assert.Equal("n1", Assert.Single(nodes).Name);
        Assert.Equal(["/slurm/v0.0.38/nodes", "/slurm/v0.0.38/nodes"], handler.Paths);
    }

    [Fact]
    public async Task Discovery_PicksTheSupportedVersionFromOpenApi()
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        var handler = new FakeHandler(req => req.RequestUri!.AbsolutePath switch
        {
            "/openapi/v3" => (HttpStatusCode.OK, """{"paths":{"/slurm/v0.0.36/ping":{},"/slurm/v0.0.38/ping":{},"/slurm/v0.0.37/jobs":{},"/slurmdb/v0.0.38/jobs":{}}}"""),
            _ => (HttpStatusCode.OK, """{"errors":[],"jobs":[]}"""),
        });
        var client = Create(handler, version: null);
        Assert.Empty(await client.ListJobsAsync(default));
        Assert.Equal("v0.0.38", client.ApiVersion);
        Assert.Equal(["/openapi/v3", "/slurm/v0.0.38/jobs"], handler.Paths);
    }

    [Fact]
    public async Task Discovery_OnlyNewerVersions_FailsNamingThem()
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        var handler = new FakeHandler(req => req.RequestUri!.AbsolutePath == "/openapi/v3"
            ? (HttpStatusCode.OK, """{"paths":{"/slurm/v0.0.42/ping":{}}}""")
            : (HttpStatusCode.NotFound, "Unable to find requested URL"));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => Create(handler, version: null).ListJobsAsync(default));
        Assert.Equal("unsupported-version", ex.Code);
        Assert.Contains("v0.0.42", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, """{"errors":[{"description":"Unable to find JobId=3","error_number":-1,"error":"Unspecified error","source":"slurm_load_job"}]}""", true, "unavailable")]
    [InlineData(503, "", true, "unavailable")]
    [InlineData(500, """{"errors":[{"error_number":2045,"error":"Invalid account or account/partition combination specified"}]}""", false, "invalid-account")]
    [InlineData(500, """{"errors":[{"error_code":2002,"error":"Access/permission denied"}]}""", false, "permission-denied")]
    [InlineData(400, """{"errors":[{"error":"Unknown key \"bogus\"","error_code":9001}]}""", false, "slurm-error")]
    public async Task Errors_MapToTransientOrCodedExceptions(int status, string body, bool transient, string code)
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        var handler = new FakeHandler(_ => ((HttpStatusCode)status, body));
        var ex = await Assert.ThrowsAnyAsync<CompGridException>(() => Create(handler).GetNodesAsync("t", default));
        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal(code, ex.Code);
        Assert.Equal("nodes", ex.Operation);
    }

    [Fact]
    public async Task UnknownJob_StatusNullAndAccountingNull_CancelNotFound()
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        var handler = new FakeHandler(req => req.RequestUri!.AbsolutePath.StartsWith("/slurmdb/", StringComparison.Ordinal)
            ? (HttpStatusCode.InternalServerError, """{"errors":[{"description":"Nothing found","error_number":9003,"error":"Nothing found with query"}],"jobs":[]}""")
            : (HttpStatusCode.InternalServerError, """{"errors":[{"description":"Unable to find JobId=9","error_number":2017,"error":"Invalid job id specified"}],"jobs":[]}"""));
        var client = Create(handler);
        Assert.Null(await client.GetJobAsync("9", default));
        Assert.Null(await client.GetAccountingAsync("9", default));
        await Assert.ThrowsAsync<JobNotFoundException>(() => client.CancelAsync("9", default));
    }

    [Fact]
    public async Task Unreachable_IsTransient()
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        var handler = new FakeHandler(_ => throw new HttpRequestException("Connection refused"));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => Create(handler).GetNodesAsync("t", default));
        Assert.True(ex.IsTransient);
        Assert.Equal("unavailable", ex.Code);
    }

    [Fact]
    public async Task Submit_AsJobOwner_SendsTheOwnerAndNoCharset()
    {
        await File.WriteAllTextAsync(_tokenFile, "t");
        string? user = null, contentType = null, body = null;
        var handler = new FakeHandler(req =>
        {
            user = req.Headers.GetValues("X-SLURM-USER-NAME").Single();
            contentType = req.Content!.Headers.ContentType!.ToString();
            body = req.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            return (HttpStatusCode.OK, """{"errors":[],"job_id":42,"step_id":"BATCH"}""");
        });
        var job = Mapping.SlurmJobMapper.Map(new BackendJobRequest
        {
            JobId = "cg-7",
            Spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("true") },
            Walltime = TimeSpan.FromMinutes(1),
        }, new SlurmBackendOptions { OutputDirectory = "/jobs", Transport = SlurmTransport.Rest, SubmitAsJobOwner = true, UserMapping = { ["alice"] = "alice" } });
        Assert.Equal("42", await Create(handler).SubmitAsync(job, default));
        Assert.Equal("alice", user);
        Assert.Equal("application/json", contentType);
        Assert.Contains("\"comment\":\"compgrid:cg-7\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_AsRoot_IsRefusedBeforeAnyRequest()
    {
        int requests = 0;
        var handler = new FakeHandler(_ =>
        {
            requests++;
            return (HttpStatusCode.OK, """{"errors":[],"job_id":42}""");
        });
        var options = new SlurmBackendOptions { OutputDirectory = "/jobs", Transport = SlurmTransport.Rest, SubmitAsJobOwner = true, UserMapping = { ["alice"] = "alice" } };
        var job = Mapping.SlurmJobMapper.Map(new BackendJobRequest
        {
            JobId = "cg-8",
            Spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("true") },
            Walltime = TimeSpan.FromMinutes(1),
        }, options) with { User = "root" }; // as if the mapping had been tampered with after the mapper ran
        var ex = await Assert.ThrowsAsync<CompGridForbiddenException>(() => Create(handler).SubmitAsync(job, default));
        Assert.Equal("submit-as-root", ex.Code);
        Assert.Equal(0, requests);
    }

    private sealed class FakeHandler(Func<HttpRequestMessage, (HttpStatusCode Status, string Body)> respond) : HttpMessageHandler
    {
        public List<string> Paths { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Paths.Add(request.RequestUri!.AbsolutePath);
            var (status, body) = respond(request);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }
}
