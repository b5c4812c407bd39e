#nullable disable warnings // Docker.DotNet's models are not annotated for nullability; null means "not sent" there.

using System.Globalization;
using M = Docker.DotNet.Models;

namespace CompGrid.Docker.Engine;

/// <summary>Converts between the facade's records and Docker.DotNet's models (the only file that knows both).</summary>
internal static class EngineModelMapping
{
    public static M.CreateContainerParameters ToParameters(string name, ContainerCreateRequest r) => new()
    {
        Name = name,
        Image = r.Image,
        Cmd = r.Cmd?.ToList(),
        Entrypoint = r.Entrypoint?.ToList(),
        Env = r.Env?.ToList(),
        WorkingDir = r.WorkingDir,
        User = r.User,
        Labels = r.Labels?.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        Tty = r.Tty,
        OpenStdin = r.OpenStdin,
        AttachStdout = r.AttachStdout,
        AttachStderr = r.AttachStderr,
        NetworkDisabled = r.NetworkDisabled ? true : null,
        Volumes = r.Volumes?.ToDictionary(kv => kv.Key, _ => new M.EmptyStruct(), StringComparer.Ordinal),
        HostConfig = ToHostConfig(r.HostConfig),
    };

    private static M.HostConfig ToHostConfig(HostConfig h) => new()
    {
        NanoCPUs = h.NanoCpus,
        CpusetCpus = h.CpusetCpus,
        Memory = h.Memory,
        MemorySwap = h.MemorySwap,
        PidsLimit = h.PidsLimit,
        Privileged = h.Privileged,
        CapDrop = h.CapDrop?.ToList(),
        SecurityOpt = h.SecurityOpt?.ToList(),
        NetworkMode = h.NetworkMode,
        ReadonlyRootfs = h.ReadonlyRootfs,
        Init = h.Init,
        AutoRemove = h.AutoRemove,
        DeviceRequests = h.DeviceRequests?.Select(d => new M.DeviceRequest
        {
            Driver = d.Driver,
            Count = d.Count,
            DeviceIDs = d.DeviceIDs?.ToList(),
            Capabilities = d.Capabilities.Select(c => (IList<string>)c.ToList()).ToList(),
        }).ToList(),
        Tmpfs = h.Tmpfs?.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
    };

    public static ContainerInspect ToInspect(M.ContainerInspectResponse c) => new()
    {
        Id = c.ID ?? "",
        Name = c.Name,
        Created = c.Created.ToString("O", CultureInfo.InvariantCulture),
        State = c.State is { } s ? new ContainerState
        {
            Status = s.Status ?? "",
            Running = s.Running,
            Paused = s.Paused,
            Restarting = s.Restarting,
            OomKilled = s.OOMKilled,
            Dead = s.Dead,
            Pid = (int)s.Pid,
            ExitCode = (int)s.ExitCode,
            Error = s.Error,
            StartedAt = s.StartedAt,
            FinishedAt = s.FinishedAt,
        } : new ContainerState(),
        Config = c.Config is { } config ? new ContainerConfigView
        {
            Image = config.Image,
            User = config.User,
            Tty = config.Tty,
            WorkingDir = config.WorkingDir,
            Labels = config.Labels is null ? null : new Dictionary<string, string>(config.Labels, StringComparer.Ordinal),
        } : new ContainerConfigView(),
        HostConfig = c.HostConfig is { } h ? new HostConfig
        {
            NanoCpus = h.NanoCPUs,
            CpusetCpus = h.CpusetCpus,
            Memory = h.Memory,
            MemorySwap = h.MemorySwap,
            PidsLimit = h.PidsLimit,
            Privileged = h.Privileged,
            NetworkMode = h.NetworkMode,
            ReadonlyRootfs = h.ReadonlyRootfs,
        } : new HostConfig(),
    };

    public static ContainerSummary ToSummary(M.ContainerListResponse c) => new()
    {
        Id = c.ID ?? "",
        Names = c.Names?.ToList(),
        Image = c.Image,
        State = c.State,
        Status = c.Status,
        Labels = c.Labels is null ? null : new Dictionary<string, string>(c.Labels, StringComparer.Ordinal),
    };

    public static InfoResponse ToInfo(M.SystemInfoResponse i) => new()
    {
        Name = i.Name,
        NCpu = (int)i.NCPU,
        MemTotal = i.MemTotal,
        ServerVersion = i.ServerVersion,
        CgroupVersion = i.CgroupVersion,
        LiveRestoreEnabled = i.LiveRestoreEnabled,
    };

    public static ContainerStats ToStats(M.ContainerStatsResponse s) => new()
    {
        Read = s.Read.ToString("O", CultureInfo.InvariantCulture),
        CpuStats = new CpuStats
        {
            CpuUsage = new CpuUsage { TotalUsage = s.CPUStats?.CPUUsage?.TotalUsage ?? 0 },
            SystemCpuUsage = s.CPUStats?.SystemUsage ?? 0,
            OnlineCpus = (int)(s.CPUStats?.OnlineCPUs ?? 0),
        },
        MemoryStats = new MemoryStats
        {
            Usage = s.MemoryStats?.Usage ?? 0,
            MaxUsage = s.MemoryStats?.MaxUsage ?? 0,
            Limit = s.MemoryStats?.Limit ?? 0,
        },
    };

    public static DockerEvent ToEvent(M.Message m) => new()
    {
        Type = m.Type,
        Action = m.Action,
        Actor = m.Actor is { } a ? new EventActor
        {
            Id = a.ID,
            Attributes = a.Attributes is null ? null : new Dictionary<string, string>(a.Attributes, StringComparer.Ordinal),
        } : null,
        Time = m.Time ?? 0,
        TimeNano = m.TimeNano ?? 0,
    };

    /// <summary>Label filters as Docker.DotNet wants them (<c>{"label": {"k=v": true}}</c>).</summary>
    public static IDictionary<string, IDictionary<string, bool>> ToFilters(IReadOnlyDictionary<string, string[]> filters) =>
        filters.ToDictionary(kv => kv.Key, kv => (IDictionary<string, bool>)kv.Value.ToDictionary(v => v, _ => true, StringComparer.Ordinal), StringComparer.Ordinal);
}
