using System.Net;
using System.Text.Json.Nodes;

namespace CompGrid.Client.Tests;

/// <summary>The sample host's OpenAPI document and Scalar page, fetched from the real host without a token.</summary>
[Collection(PortalCollection.Name)]
[Trait("Category", "Client")]
public sealed class OpenApiDocumentTests(PortalFixture portal)
{
    private static readonly string[] Methods = ["get", "post", "put", "delete", "patch"];

    internal static async Task<JsonObject> FetchAsync(PortalFixture portal)
    {
        using var anonymous = portal.Host.Client(token: null);
        var r = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task Document_Anonymous_DescribesEveryMappedEndpoint()
    {
        var doc = await FetchAsync(portal);
        // The host lists route handlers the document lacks; none may be missing.
        Assert.Null(doc["x-compgrid-undescribed"]);
        var paths = doc["paths"]!.AsObject();
        foreach (string expected in (string[])["/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/logs", "/api/jobs/{id}/approve", "/api/grants", "/api/quotes", "/api/simulations", "/healthz"])
            Assert.True(paths.ContainsKey(expected), expected + " is not in the document");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, item) in paths)
            foreach (var (method, node) in item!.AsObject().Where(p => Methods.Contains(p.Key)))
            {
                var op = node!.AsObject();
                string where = $"{method.ToUpperInvariant()} {path}";
                string? id = op["operationId"]?.GetValue<string>();
                Assert.False(string.IsNullOrEmpty(id), where + " has no operationId");
                Assert.True(ids.Add(id!), where + ": operationId " + id + " is used twice");
                Assert.False(string.IsNullOrEmpty(op["summary"]?.GetValue<string>()), where + " has no summary");
                var tags = op["tags"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
                Assert.NotEmpty(tags);
                Assert.DoesNotContain("CompGrid.SampleHost", tags);   // the default tag: nobody chose one
                var responses = op["responses"]!.AsObject();
                var success = responses.Where(r => r.Key.StartsWith('2')).ToList();
                Assert.True(success.Count > 0, where + " has no success answer");
                Assert.All(success.Where(s => s.Key != "204"), s => Assert.NotNull(s.Value!["content"]));
                foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
                    Assert.True(response!["content"]?["application/problem+json"]?["schema"] is not null, $"{where} {status} is not problem details");
                // Only these are anonymous; every other operation says it needs a token.
                if (op["security"] is null) Assert.Contains(where, (string[])["GET /healthz", "POST /api/session", "DELETE /api/session"]);
                else Assert.True(responses.ContainsKey("401"), where + " does not say it needs a token");
                if (method == "post" && path is "/api/jobs" or "/api/quotes" or "/api/simulations" or "/api/grants")
                    Assert.NotNull(op["requestBody"]?["content"]?["application/json"]?["schema"]?["properties"]);
            }
        Assert.Equal("http", doc["components"]!["securitySchemes"]!["Bearer"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Document_ValidationProblem_NamesErrorsAndSubmitBodyHasTheJobFields()
    {
        var doc = await FetchAsync(portal);
        var submit = doc["paths"]!["/api/jobs"]!["post"]!;
        var body = submit["requestBody"]!["content"]!["application/json"]!["schema"]!["properties"]!.AsObject();
        foreach (string field in (string[])["command", "script", "executable", "image", "cpus", "memoryMiB", "walltimeSeconds", "account"])
            Assert.True(body.ContainsKey(field), "submitJob body lacks " + field);
        var problem = submit["responses"]!["400"]!["content"]!["application/problem+json"]!["schema"]!["properties"]!.AsObject();
        Assert.True(problem.ContainsKey("errors"));
        var created = submit["responses"]!["201"]!["content"]!["application/json"]!["schema"]!["properties"]!.AsObject();
        Assert.True(created.ContainsKey("state") && created.ContainsKey("spec"));
    }

    [Fact]
    public async Task ScalarPage_Anonymous_ServesThePageAndItsScriptFromTheHost()
    {
        using var anonymous = portal.Host.Client(token: null);
        var page = await anonymous.GetAsync("/scalar/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("CompGrid portal API", html, StringComparison.Ordinal);
        Assert.Contains("src=\"scalar.js\"", html, StringComparison.Ordinal);   // local, no CDN
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/scalar/scalar.js")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/jobs")).StatusCode);   // the API itself stays closed
    }
}
