using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CompGrid.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Client.Tests;

/// <summary>
/// Every call of <see cref="CompGridHttpClient"/> is made against the real host while its requests are recorded; each
/// request must match an operation of the OpenAPI document (method, path template, declared query parameters). A new
/// public method without an entry in <see cref="Calls"/> fails the test.
/// </summary>
[Collection(PortalCollection.Name)]
[Trait("Category", "Client")]
public sealed class ClientMatchesOpenApiTests(PortalFixture portal)
{
    private sealed class Recorder : DelegatingHandler
    {
        public List<(string Method, Uri Uri)> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add((request.Method.Method, request.RequestUri!));
            return base.SendAsync(request, cancellationToken);
        }
    }

    private static readonly JobSpec Small = new() { Name = "openapi-check", Payload = JobPayload.Command("echo checked"), Account = "alice-lab" };

    // One invocation per public method (overloads share one). Errors are fine: the request was still sent.
    private static readonly Dictionary<string, Func<CompGridHttpClient, string, Task>> Calls = new(StringComparer.Ordinal)
    {
        [nameof(CompGridHttpClient.SubmitAsync)] = (c, _) => c.SubmitAsync(Small with { Owner = "alice" }),
        [nameof(CompGridHttpClient.GetJobAsync)] = (c, id) => c.GetJobAsync(id),
        [nameof(CompGridHttpClient.ListJobsAsync)] = async (c, _) =>
        {
            await foreach (var j in c.ListJobsAsync(new JobQuery
            {
                States = [JobState.Completed], Owner = "alice", Account = "alice-lab", Backend = "local",
                SubmittedAfter = DateTimeOffset.UnixEpoch, SubmittedBefore = DateTimeOffset.UnixEpoch.AddYears(100), Limit = 5,
            })) { }
        },
        [nameof(CompGridHttpClient.GetHistoryAsync)] = (c, id) => c.GetHistoryAsync(id),
        [nameof(CompGridHttpClient.CancelAsync)] = (c, id) => c.CancelAsync(id),
        [nameof(CompGridHttpClient.ApproveAsync)] = (c, id) => c.ApproveAsync(id, "alice", "r"),
        [nameof(CompGridHttpClient.RejectAsync)] = (c, id) => c.RejectAsync(id, "alice", "r"),
        [nameof(CompGridHttpClient.WaitForCompletionAsync)] = (c, id) => c.WaitForCompletionAsync(id),
        [nameof(CompGridHttpClient.GetLogsAsync)] = (c, id) => c.GetLogsAsync(id),
        [nameof(CompGridHttpClient.FollowLogsAsync)] = async (c, id) => { await foreach (var t in c.FollowLogsAsync(id)) { } },
        [nameof(CompGridHttpClient.GetUsageAsync)] = (c, id) => c.GetUsageAsync(id),
        [nameof(CompGridHttpClient.GetNodesAsync)] = (c, _) => c.GetNodesAsync(),
        [nameof(CompGridHttpClient.GetCallerAsync)] = (c, _) => c.GetCallerAsync(),
        [nameof(CompGridHttpClient.GetPriorityAsync)] = (c, id) => c.GetPriorityAsync(id),
        [nameof(CompGridHttpClient.GetGrantsAsync)] = (c, _) => c.GetGrantsAsync(),
        [nameof(CompGridHttpClient.GetGrantAsync)] = (c, _) => c.GetGrantAsync("alice-lab"),
        [nameof(CompGridHttpClient.QuoteAsync)] = (c, _) => c.QuoteAsync(Small),
        [nameof(CompGridHttpClient.GetStatementAsync)] = (c, _) => c.GetStatementAsync("alice-lab", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100)),
        [nameof(CompGridHttpClient.GetStatementCsvAsync)] = (c, _) => c.GetStatementCsvAsync("alice-lab"),
        [nameof(CompGridHttpClient.SimulateAsync)] = (c, _) => c.SimulateAsync(new SimulationRequest { Jobs = 10, Nodes = 2 }),
    };

    [Fact]
    public async Task EveryClientCall_MapsToAnOperationOfTheDocument()
    {
        string[] notCalls = [nameof(CompGridHttpClient.Dispose), nameof(ToString), nameof(Equals), nameof(GetHashCode), nameof(GetType)];
        var methods = typeof(CompGridHttpClient).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => !m.IsSpecialName && !notCalls.Contains(m.Name)).Select(m => m.Name).Distinct().ToList();
        Assert.Empty(methods.Except(Calls.Keys));

        var recorder = new Recorder { InnerHandler = new SocketsHttpHandler() };
        var options = new CompGridClientOptions { BaseAddress = portal.Host.BaseAddress, Token = "dev-alice-token", PollInterval = TimeSpan.FromMilliseconds(100) };
        var job = await portal.Alice.SubmitAsync(Small);
        await job.WaitForCompletionAsync();
        foreach (var (name, call) in Calls)
        {
            int before = recorder.Requests.Count;
            // A fresh client per call: nothing remembered from an earlier one (the caller's name) hides a request.
            using var client = new CompGridHttpClient(new HttpClient(recorder, disposeHandler: false), ownsHttp: true, options, TimeProvider.System, NullLogger.Instance);
            try { await call(client, job.Id); }
            catch (CompGridException) { }   // approve/reject of a finished job: 403/409, still a described call
            Assert.True(recorder.Requests.Count > before, name + " sent no request");
        }

        recorder.Dispose();
        var operations = Operations(await OpenApiDocumentTests.FetchAsync(portal));
        foreach (var (method, uri) in recorder.Requests)
        {
            var match = operations.FirstOrDefault(o => o.Method == method && o.Path.IsMatch(uri.AbsolutePath));
            Assert.True(match.Path is not null, $"{method} {uri.AbsolutePath} is not an operation of /openapi/v1.json");
            foreach (string parameter in System.Web.HttpUtility.ParseQueryString(uri.Query).AllKeys.OfType<string>())
                Assert.True(match.Query.Contains(parameter), $"{method} {uri.AbsolutePath}: query parameter '{parameter}' is not declared");
        }
    }

    private static List<(string Method, Regex Path, HashSet<string> Query)> Operations(JsonObject doc)
    {
        var list = new List<(string, Regex, HashSet<string>)>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, op) in item!.AsObject())
            {
                var query = (op!["parameters"]?.AsArray() ?? []).Where(p => p!["in"]!.GetValue<string>() == "query").Select(p => p!["name"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                var regex = new Regex("^" + Regex.Replace(Regex.Escape(path), @"\\\{[^/]+?\}", "[^/]+") + "$", RegexOptions.CultureInvariant);
                list.Add((method.ToUpperInvariant(), regex, query));
            }
        return list;
    }
}
