using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace CompGrid.SampleHost.Tests;

/// <summary>A host with rate limits raised out of the way and small simulations, for the generated-body test.</summary>
public sealed class GeneratedBodyHostFixture() : ConfiguredHostFixture(
    "--CompGrid:Limits:Submit:PermitLimit=1000000", "--CompGrid:Limits:Quote:PermitLimit=1000000",
    "--CompGrid:Limits:Simulation:PermitLimit=1000000", "--CompGrid:Limits:MaxSimulationJobs=100",
    "--CompGrid:Limits:MaxSimulationNodes=16", "--Logging:LogLevel:Default=Warning");

/// <summary>
/// Issue 9's fuzzing attack, seeded so a failure replays: 10,000 generated bodies (random JSON shapes and
/// types, boundary and huge numbers, deep nesting, unicode, broken JSON, and near-valid objects with one field
/// wrong) posted to every POST endpoint of one real host. No answer may be a 5xx, every stored job must be one the
/// host answered 201 for and must satisfy validation and the policy, and no grant's ledger may hold a negative hold
/// or a spendable balance above what was allocated.
/// </summary>
[Trait("Category", "SampleHost")]
public sealed class GeneratedBodyTests(GeneratedBodyHostFixture fixture, ITestOutputHelper output) : IClassFixture<GeneratedBodyHostFixture>
{
    private const int Bodies = 10_000;
    private const int Seed = 20261201;

    [Fact]
    public async Task GeneratedBodies_TenThousandAcrossPostEndpoints_No5xxAndNothingInvalidStored()
    {
        var tokens = new[] { "dev-alice-token", "dev-bob-token", "dev-admin-token" };
        var clients = tokens.ToDictionary(t => t, t => fixture.Host.Client(t));
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<string, int>();
        var createdJobs = new ConcurrentBag<string>();
        var sw = Stopwatch.StartNew();
        const int workers = 4;
        await Parallel.ForAsync(0, workers, async (w, ct) =>
        {
            var gen = new BodyGenerator(new Random(Seed + w));
            for (int i = w; i < Bodies; i += workers)
            {
                var (path, token, body) = gen.Next(createdJobs);
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var r = await clients[token].PostAsync(path, content, ct);
                string endpoint = BodyGenerator.EndpointOf(path);
                statuses.AddOrUpdate($"{endpoint} {(int)r.StatusCode}", 1, (_, n) => n + 1);
                if ((int)r.StatusCode >= 500)
                    failures.Enqueue($"#{i} POST {path} as {token} -> {(int)r.StatusCode}: {Preview(body)} => {Preview(await r.Content.ReadAsByteArrayAsync(ct))}");
                else if (r.StatusCode == HttpStatusCode.Created && endpoint == "/api/jobs")
                    createdJobs.Add(JsonNode.Parse(await r.Content.ReadAsStringAsync(ct))!["id"]!.GetValue<string>());
            }
        });
        output.WriteLine($"{Bodies} bodies in {sw.Elapsed.TotalSeconds:F1} s (seed {Seed})");
        foreach (var (k, n) in statuses.OrderBy(p => p.Key, StringComparer.Ordinal)) output.WriteLine($"{k}: {n}");
        Assert.True(failures.IsEmpty, $"{failures.Count} answers were 5xx, for example:\n{string.Join("\n", failures.Take(8))}");
        Assert.Equal(Bodies, statuses.Values.Sum());

        using var admin = fixture.Host.Client("dev-admin-token");
        var jobs = (await admin.GetFromJsonAsync<JsonArray>("/api/jobs?limit=10000"))!;
        Assert.Equal(createdJobs.Order(StringComparer.Ordinal), jobs.Select(j => j!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        foreach (var job in jobs) AssertValidStoredJob(job!["spec"]!.AsObject());

        foreach (var g in (await admin.GetFromJsonAsync<JsonArray>("/api/grants"))!)
        {
            var b = g!["balance"]!;
            decimal D(string name) => b[name]!.GetValue<decimal>();
            string code = g["grant"]!["code"]!.GetValue<string>();
            Assert.True(D("held") >= 0, $"{code}: negative hold {b.ToJsonString()}");
            Assert.True(D("charged") >= 0, $"{code}: negative charge {b.ToJsonString()}");
            Assert.True(D("spendable") <= D("allocated") + D("adjusted") + D("creditLimit"), $"{code}: spendable above its funds {b.ToJsonString()}");
        }
    }

    // What validation and the sample host's policy allow: users at most 64 CPUs on 4 nodes, nice >= 0, no QOS,
    // partition or backend choice, 7 days; anyone within the engine's bounds.
    private static void AssertValidStoredJob(JsonObject spec)
    {
        string owner = spec["owner"]!.GetValue<string>();
        bool admin = owner == "admin";
        var r = spec["resources"]!;
        long cpus = r["cpus"]!.GetValue<int>(), nodes = r["nodes"]!.GetValue<int>(), gpus = r["gpus"]!.GetValue<int>();
        long memory = r["memoryMiB"]!.GetValue<long>();
        int nice = spec["nice"]!.GetValue<int>();
        Assert.True(cpus is >= 1 and <= 100_000 && nodes is >= 1 and <= 100_000 && cpus * nodes <= 10_000_000, spec.ToJsonString());
        Assert.True(gpus >= 0 && memory >= 0 && nice is >= -10_000 and <= 10_000, spec.ToJsonString());
        TimeSpan? walltime = spec["walltime"] is { } w ? TimeSpan.Parse(w.GetValue<string>(), CultureInfo.InvariantCulture) : null;
        Assert.True(walltime is null || (walltime > TimeSpan.Zero && walltime <= TimeSpan.FromDays(30)), spec.ToJsonString());
        if (spec["notifications"]?["webhook"] is { } hook) Assert.True(Uri.TryCreate(hook.GetValue<string>(), UriKind.Absolute, out _), spec.ToJsonString());
        if (admin) return;
        Assert.True(cpus * nodes <= 64 && nodes <= 4 && gpus == 0 && nice >= 0, spec.ToJsonString());
        Assert.True(spec["qos"] is null && spec["constraints"]?["backend"] is null && spec["constraints"]?["partition"] is null, spec.ToJsonString());
        Assert.True(walltime is null || walltime <= TimeSpan.FromDays(7), spec.ToJsonString());
    }

    private static string Preview(byte[] bytes)
    {
        string s = Encoding.UTF8.GetString(bytes);
        return s.Length <= 300 ? s : s[..300] + "…";
    }
}

/// <summary>Seeded generator of request bodies: random shapes, near-valid objects, broken JSON.</summary>
internal sealed class BodyGenerator(Random rng)
{
    private static readonly string[] Paths =
        ["/api/jobs", "/api/jobs", "/api/jobs", "/api/quotes", "/api/quotes", "/api/simulations", "/api/grants",
         "/api/grants/alice-lab/adjustments", "/api/grants/bob-lab/adjustments", "/api/grants/no-such/allocations", "/api/grants/alice-pilot/allocations",
         "/api/jobs/{job}/approve", "/api/jobs/{job}/reject", "/api/jobs/{job}/cancel"];

    private static readonly string[] Tokens = ["dev-alice-token", "dev-bob-token", "dev-admin-token"];

    // Fields of every POST body, and the values that make a field plausible. Commands, scripts and executables
    // come only from harmless lists: a generated body that passes validation really runs.
    private static readonly Dictionary<string, Func<BodyGenerator, string>> Fields = new(StringComparer.Ordinal)
    {
        ["name"] = g => g.Str(), ["command"] = g => g.Pick("\"true\"", "\"echo fuzz\"", "\"exit 3\"", "\"\"", "\"日本語\""),
        ["script"] = g => g.Pick("\"echo s\"", "\"exit 1\"", "\"\""), ["interpreter"] = g => g.Pick("\"/bin/sh\"", "\"sh\"", "\"/no such\""),
        ["executable"] = g => g.Pick("\"/bin/true\"", "\"/nonexistent/x\"", "\"true\""), ["image"] = g => g.Pick("\"alpine:3\"", "\"ghcr.io/x/y:1\"", "\"UPPER\"", g.Str()),
        ["arguments"] = g => g.Pick("[\"a\"]", "[]", "[null]", "[1]", "\"a\""), ["network"] = g => g.Pick("true", "false"),
        ["cpus"] = g => g.Int(1, 4), ["memoryMiB"] = g => g.Int(0, 2048), ["gpus"] = g => g.Int(0, 2), ["gpuModel"] = g => g.Pick("\"a100\"", "\"\""),
        ["nodes"] = g => g.Int(1, 3), ["walltimeSeconds"] = g => g.Int(1, 120), ["nice"] = g => g.Int(-5, 5),
        ["account"] = g => g.Pick("\"alice-lab\"", "\"bob-lab\"", "\"alice-pilot\"", "\"none-such\"", "null"),
        ["partition"] = g => g.Pick("\"debug\"", "null"), ["backend"] = g => g.Pick("\"local\"", "\"lab\"", "null"),
        ["qos"] = g => g.Pick("\"normal\"", "\"scavenger\"", "null"), ["environment"] = g => g.Pick("{\"A\":\"1\"}", "{\"1A\":\"x\"}", "{\"A\":null}", "{}"),
        ["labels"] = g => g.Pick("{\"k\":\"v\"}", "{\"\":\"v\"}", "{}"), ["webhook"] = g => g.Pick("\"http://127.0.0.1:9/hook\"", "\"x\"", "\"ftp://127.0.0.1/\"", "\"/rel\""),
        ["seed"] = g => g.Int(0, 1000), ["jobs"] = g => g.Int(1, 60), ["placement"] = g => g.Pick("\"first-fit\"", "\"best-fit\"", "\"nope\""),
        ["ordering"] = g => g.Pick("\"multifactor\"", "\"fifo\"", "\"nope\""), ["backfill"] = g => g.Pick("true", "false"),
        ["compareWith"] = g => g.Pick("{\"ordering\":\"fifo\"}", "{\"compareWith\":{}}", "null"),
        ["amount"] = g => g.Pick("5", "-3.25", "0", "0.001"), ["reason"] = g => g.Pick("\"fuzz\"", "\"\"", "null"), ["jobId"] = g => g.Pick("\"j-1\"", "null"),
        ["key"] = g => g.Pick($"\"k{g._rng.Next(50)}\"", "null"), ["expiresAt"] = g => g.Pick("\"2030-01-01T00:00:00Z\"", "\"not a date\"", "null"),
        ["carryOverFraction"] = g => g.Pick("0", "0.5", "1", "2"), ["code"] = g => g.Pick($"\"fz-{g._rng.Next(100)}\"", "\"\"", "\"bad code!\""),
        ["title"] = g => g.Str(), ["principalInvestigator"] = g => g.Pick("\"alice\"", "\"\""), ["currency"] = g => g.Pick("\"CRD\"", "\"EUR\"", "\"\""),
        ["budget"] = g => g.Pick("100", "-1", "0"), ["members"] = g => g.Pick("[\"alice\"]", "null", "[null]", "[]"),
        ["status"] = g => g.Pick("\"Active\"", "\"Closed\"", "1", "\"Nope\""), ["creditLimit"] = g => g.Pick("0", "-5", "1e30", "50"),
        ["parentCode"] = g => g.Pick("\"alice-lab\"", "\"no-such\"", "null"), ["validFrom"] = g => g.Pick("\"2026-01-01T00:00:00Z\"", "null", "\"x\""),
        ["validTo"] = g => g.Pick("\"2020-01-01T00:00:00Z\"", "\"2030-01-01T00:00:00Z\"", "null"),
    };

    private static readonly string[] FieldNames = [.. Fields.Keys];

    private static readonly string[] Numbers =
        ["0", "-0", "1", "-1", "46341", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
         "1000000000000", "-1000000000000", "1e400", "-1e400", "1e-400", "1.5", "0.1", "123456789012345678901234567890", "79228162514264337593543950335",
         "79228162514264337593543950336", "1E3", "-10000", "10001", "0.0000000000000000000000000001"];

    public static string EndpointOf(string path) => path.Contains("/adjustments", StringComparison.Ordinal) ? "/api/grants/{code}/adjustments"
        : path.Contains("/allocations", StringComparison.Ordinal) ? "/api/grants/{code}/allocations"
        : path.StartsWith("/api/jobs/", StringComparison.Ordinal) ? "/api/jobs/{id}/" + path[(path.LastIndexOf('/') + 1)..]
        : path;

    public (string Path, string Token, byte[] Body) Next(IEnumerable<string> createdJobs)
    {
        string path = Paths[_rng.Next(Paths.Length)];
        if (path.Contains("{job}", StringComparison.Ordinal))
        {
            string[] known = [.. createdJobs];
            path = path.Replace("{job}", known.Length > 0 && _rng.Next(2) == 0 ? known[_rng.Next(known.Length)] : "no-such-job", StringComparison.Ordinal);
        }
        string token = path.StartsWith("/api/grants", StringComparison.Ordinal) && _rng.Next(5) > 0 ? Tokens[2] : Tokens[_rng.Next(Tokens.Length)];
        return (path, token, Body());
    }

    private byte[] Body() => _rng.Next(20) switch
    {
        < 9 => Utf8(NearValidObject()),
        < 13 => Utf8(Value(4)),
        13 => Utf8(Deep()),
        14 => [0xff, 0xfe, 0x7b, 0xc3, 0x28, 0x7d],                              // invalid UTF-8
        15 => Utf8(Pick("", "{", "}", "{\"cpus\":}", "{'cpus':1}", "{\"cpus\":1,}", "NaN", "/* c */ {}", "{\"a\":1}{\"b\":2}", "nul")),
        16 => Utf8(Truncate(NearValidObject())),
        17 => Utf8("{" + string.Join(",", Enumerable.Range(0, _rng.Next(1, 300)).Select(i => $"\"f{i}\":{Value(0)}")) + "}"),
        _ => Utf8(Value(2)),
    };

    // Mostly plausible fields with one or two replaced by anything; duplicates and unknown fields included.
    private string NearValidObject()
    {
        var parts = new List<string>();
        int n = _rng.Next(1, 9);
        for (int i = 0; i < n; i++)
        {
            string f = FieldNames[_rng.Next(FieldNames.Length)];
            bool wild = _rng.Next(4) == 0 && f is not ("command" or "script" or "executable" or "interpreter" or "arguments");
            parts.Add($"{Quote(_rng.Next(30) == 0 ? f.ToUpperInvariant() : f)}:{(wild ? Value(2) : Fields[f](this))}");
        }
        if (_rng.Next(3) == 0) parts.Add($"\"command\":{Fields["command"](this)}");
        return "{" + string.Join(",", parts) + "}";
    }

    private string Value(int depth) => _rng.Next(10) switch
    {
        0 => "null",
        1 => Pick("true", "false"),
        2 or 3 => Numbers[_rng.Next(Numbers.Length)],
        4 or 5 => Str(),
        6 when depth > 0 => "[" + string.Join(",", Enumerable.Range(0, _rng.Next(4)).Select(_ => Value(depth - 1))) + "]",
        7 when depth > 0 => "{" + string.Join(",", Enumerable.Range(0, _rng.Next(4)).Select(_ => $"{Str()}:{Value(depth - 1)}")) + "}",
        _ => _rng.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
    };

    private string Deep()
    {
        int d = _rng.Next(60, 200);
        return _rng.Next(2) == 0 ? new string('[', d) + new string(']', d) : string.Concat(Enumerable.Repeat("{\"cpus\":", d)) + "1" + new string('}', d);
    }

    private string Str()
    {
        switch (_rng.Next(8))
        {
            case 0: return Pick("\"\"", "\" \"", "\"x\"", "\"true\"", "\"1\"", "\"1e400\"", "\"-1\"", "\"../../etc/passwd\"", "\"alice-lab\"", "\"2026-01-01T00:00:00Z\"");
            case 1: return Pick("\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\n\\r\\t\"", "\"\\u202eabc\"", "\"\\uFEFF\"");
            case 2: return Quote(new string('a', _rng.Next(200, 5_000)));
            default:
                var sb = new StringBuilder();
                int len = _rng.Next(0, 40);
                for (int i = 0; i < len; i++)
                {
                    int c = _rng.Next(6) switch
                    {
                        0 => _rng.Next(0x20, 0x7f), 1 => _rng.Next(0xa0, 0x250), 2 => _rng.Next(0x4e00, 0x9fff),
                        3 => _rng.Next(0x1f600, 0x1f64f), 4 => _rng.Next(0x0590, 0x06ff), _ => _rng.Next(0x20, 0x7f),
                    };
                    sb.Append(char.ConvertFromUtf32(c));
                }
                return Quote(sb.ToString());
        }
    }

    private string Int(int min, int max) => _rng.Next(min, max + 1).ToString(CultureInfo.InvariantCulture);

    private string Pick(params string[] options) => options[_rng.Next(options.Length)];

    private string Truncate(string s) => s.Length < 2 ? s : s[.._rng.Next(1, s.Length)];

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private readonly Random _rng = rng;
}
