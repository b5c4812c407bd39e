using CompGrid.Slurm.Rest;
using CompGrid.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CompGrid.Slurm.Tests.Unit;

[Trait("Category", "Slurm")]
public sealed class JwtAndOptionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task MintedToken_RenewedBeforeExpiry()
    {
        string keyFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(keyFile, new byte[32]);
            var time = new ManualTimeProvider(T0);
            var source = new JwtTokenSource(new SlurmBackendOptions { JwtKeyFile = keyFile, TokenUser = "slurm", TokenLifetime = TimeSpan.FromMinutes(10), TokenRefreshMargin = TimeSpan.FromMinutes(2) }, time, "t");
            string first = await source.GetTokenAsync(false, default);
            Assert.Equal(T0.AddMinutes(10), JwtTokenSource.ReadExpiry(first));
            Assert.Equal("slurm", source.UserName);
            time.Advance(TimeSpan.FromMinutes(7));
            Assert.Same(first, await source.GetTokenAsync(false, default));
            time.Advance(TimeSpan.FromMinutes(1.5)); // within the margin
            string second = await source.GetTokenAsync(false, default);
            Assert.NotEqual(first, second);
            Assert.Equal(T0.AddMinutes(18.5), JwtTokenSource.ReadExpiry(second));
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public void Mint_ProducesHs256TokenWithSlurmClaims()
    {
        string token = JwtTokenSource.Mint("0123456789abcdef0123456789abcdef"u8.ToArray(), "root", T0, TimeSpan.FromHours(1));
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        string payload = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(parts[1].PadRight(parts[1].Length + (4 - parts[1].Length % 4) % 4, '=').Replace('-', '+').Replace('_', '/')));
        Assert.Contains("\"sun\":\"root\"", payload, StringComparison.Ordinal);
        Assert.Contains("\"exp\":" + T0.AddHours(1).ToUnixTimeSeconds(), payload, StringComparison.Ordinal);
        Assert.Contains("\"iat\":" + T0.ToUnixTimeSeconds(), payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenFile_WithPrefix_IsReadAndExpiredTokenIsRefused()
    {
        string file = Path.GetTempFileName();
        try
        {
            string token = JwtTokenSource.Mint(new byte[32], "root", T0, TimeSpan.FromMinutes(30));
            await File.WriteAllTextAsync(file, "SLURM_JWT=" + token + "\n");
            var time = new ManualTimeProvider(T0);
            var source = new JwtTokenSource(new SlurmBackendOptions { TokenFile = file, TokenUser = "root" }, time, "t");
            Assert.Equal(token, await source.GetTokenAsync(false, default));
            time.Advance(TimeSpan.FromHours(1));
            var ex = await Assert.ThrowsAsync<CompGridException>(() => source.GetTokenAsync(false, default).AsTask());
            Assert.Equal("token-expired", ex.Code);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Validator_MissingSettings_NameEachOption()
    {
        var errors = SlurmBackendOptionsValidator.Errors("campus", new SlurmBackendOptions { Transport = SlurmTransport.Rest });
        Assert.Contains(errors, e => e.Contains("OutputDirectory", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("RestUrl", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Token, TokenFile or JwtKeyFile", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.StartsWith("Slurm backend 'campus': ", e, StringComparison.Ordinal));

        var ssh = SlurmBackendOptionsValidator.Errors("c", new SlurmBackendOptions { Transport = SlurmTransport.Ssh, OutputDirectory = "/j", SshHost = "-oProxyCommand=x" });
        Assert.Contains(ssh, e => e.Contains("SshHost", StringComparison.Ordinal));
        Assert.Contains(ssh, e => e.Contains("SshKnownHostsFile", StringComparison.Ordinal));
        Assert.Contains(ssh, e => e.Contains("SshIdentityFile", StringComparison.Ordinal));
        Assert.Contains(ssh, e => e.Contains("SshUser", StringComparison.Ordinal));

        Assert.Empty(SlurmBackendOptionsValidator.Errors("c", new SlurmBackendOptions { OutputDirectory = "/j" }));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("0")]
    public void Validate_UserMappingToRoot_IsRefused(string slurmUser)
    {
        var o = new SlurmBackendOptions
        {
            OutputDirectory = "/j", Transport = SlurmTransport.Rest, RestUrl = new Uri("http://127.0.0.1:6820"), Token = "t",
            SubmitAsJobOwner = true, UserMapping = { ["alice"] = "alice", ["admin"] = slurmUser },
        };
        var error = Assert.Single(SlurmBackendOptionsValidator.Errors("c", o));
        Assert.Contains("UserMapping['admin']", error, StringComparison.Ordinal);
        Assert.Contains("never submitted as root", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SubmitAsJobOwner_NeedsRestAndAnExplicitMapping()
    {
        var rest = new SlurmBackendOptions
        {
            OutputDirectory = "/j", Transport = SlurmTransport.Rest, RestUrl = new Uri("http://127.0.0.1:6820"), Token = "t", SubmitAsJobOwner = true,
        };
        Assert.Contains(SlurmBackendOptionsValidator.Errors("c", rest), e => e.Contains("SubmitAsJobOwner needs UserMapping", StringComparison.Ordinal));
        var cli = new SlurmBackendOptions { OutputDirectory = "/j", SubmitAsJobOwner = true, UserMapping = { ["a"] = "a" } };
        Assert.Contains(SlurmBackendOptionsValidator.Errors("c", cli), e => e.Contains("Rest transport only", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_SshKeys_FileOrStreamForSshNet_FileOnlyForOpenSsh()
    {
        SlurmBackendOptions Ssh(SshClientKind kind) => new()
        {
            OutputDirectory = "/j", Transport = SlurmTransport.Ssh, SshClient = kind, SshHost = "login", SshUser = "svc", SshKnownHostsFile = "/kh",
        };
        Assert.Contains(SlurmBackendOptionsValidator.Errors("c", Ssh(SshClientKind.SshNet)), e => e.Contains("SshIdentityFile or SshPrivateKey", StringComparison.Ordinal));
        using var key = new MemoryStream([1, 2, 3]);
        var fromStream = Ssh(SshClientKind.SshNet);
        fromStream.SshPrivateKey = key;
        Assert.Empty(SlurmBackendOptionsValidator.Errors("c", fromStream));
        var openSsh = Ssh(SshClientKind.OpenSsh);
        openSsh.SshPrivateKey = key;
        openSsh.SshPrivateKeyPassphrase = "p";
        var errors = SlurmBackendOptionsValidator.Errors("c", openSsh);
        Assert.Contains(errors, e => e.Contains("SshIdentityFile is required for OpenSsh", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("SshPrivateKey (a stream) works with SshClient = SshNet only", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("SshPrivateKeyPassphrase", StringComparison.Ordinal));
        var bad = Ssh(SshClientKind.SshNet);
        bad.SshIdentityFile = "/k";
        bad.SshMaxChannels = 0;
        bad.SshKeepAliveInterval = TimeSpan.Zero;
        errors = SlurmBackendOptionsValidator.Errors("c", bad);
        Assert.Contains(errors, e => e.Contains("SshMaxChannels", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("SshKeepAliveInterval", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_InvalidOptions_ThrowsListingProblems()
    {
        var ex = Assert.Throws<ArgumentException>(() => SlurmBackend.Create("campus", new SlurmBackendOptions { Transport = SlurmTransport.Ssh }));
        Assert.Contains("OutputDirectory", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SshKnownHostsFile", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddSlurmBackend_FromConfiguration_BindsAndRegistersNamedBackend()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Slurm:campus:Transport"] = "Rest",
            ["Slurm:campus:RestUrl"] = "http://127.0.0.1:6820",
            ["Slurm:campus:TokenFile"] = "/etc/compgrid/slurm.jwt",
            ["Slurm:campus:TokenUser"] = "slurm",
            ["Slurm:campus:SubmitAsJobOwner"] = "true",
            ["Slurm:campus:UserMapping:alice@uni.edu"] = "alice",
            ["Slurm:campus:OutputDirectory"] = "/shared/compgrid",
            ["Slurm:campus:AccountMapping:GR-1"] = "physics",
            ["Slurm:campus:CircuitBreakDuration"] = "00:00:05",
        }).Build();
        var services = new ServiceCollection();
        new TestBuilder(services).AddSlurmBackend("campus", config.GetSection("Slurm:campus"))
            .AddSlurmBackend("lab", o => { o.OutputDirectory = "/lab/jobs"; o.Transport = SlurmTransport.Cli; });
        using var sp = services.BuildServiceProvider();
        sp.GetRequiredService<IStartupValidator>().Validate();
        var options = sp.GetRequiredService<IOptionsMonitor<SlurmBackendOptions>>().Get("campus");
        Assert.Equal(SlurmTransport.Rest, options.Transport);
        Assert.Equal("physics", options.AccountMapping["GR-1"]);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CircuitBreakDuration);
        var backends = sp.GetServices<IComputeBackend>().ToList();
        Assert.Equal(["campus", "lab"], backends.Select(b => b.Name));
        Assert.True(backends[0].Capabilities.PlacesJobsItself);
    }

    [Fact]
    public void AddSlurmBackend_InvalidOptions_FailsAtStartWithMessage()
    {
        var services = new ServiceCollection();
        new TestBuilder(services).AddSlurmBackend("campus", o => o.Transport = SlurmTransport.Ssh);
        using var sp = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Slurm backend 'campus': OutputDirectory is required", ex.Message, StringComparison.Ordinal);
    }

    private sealed class TestBuilder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
