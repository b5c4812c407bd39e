using System.Diagnostics;
using System.Text;
using CompGrid.VirtualMachines.Diagnostics;
using CompGrid.VirtualMachines.GuestAgent;
using CompGrid.VirtualMachines.Qmp;
using Microsoft.Extensions.Logging;

namespace CompGrid.VirtualMachines.Qemu;

/// <summary>The power state of one VM as CompGrid sees it.</summary>
internal enum VmPower { Off, Starting, Up, Stopping, Failed }

/// <summary>
/// One QEMU process and its two sockets: QMP for the machine (status, pause, power) and the guest agent for work inside.
/// Started with an argument list; stopped by the ACPI power button, then <c>quit</c>, then by its pid.
/// </summary>
internal sealed class QemuVm : IAsyncDisposable
{
    private readonly string _backend;
    private readonly QemuBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _power = new(1, 1);
    private readonly StringBuilder _stderr = new();
    private Process? _process;
    private QmpClient? _qmp;
    private GuestAgentClient? _agent;

    public QemuVm(string backend, QemuNodeOptions node, VmTemplate template, QemuBackendOptions options, TimeProvider time, ILogger logger)
    {
        _backend = backend;
        Node = node;
        Template = template;
        _options = options;
        _time = time;
        _logger = logger;
        Paths = new VmPaths(Path.Combine(options.StateDirectory, node.Name));
    }

    public QemuNodeOptions Node { get; }

    public VmTemplate Template { get; }

    public VmPaths Paths { get; }

    public VmPower Power { get; private set; } = VmPower.Off;

    /// <summary>Why the last start failed, for the node's reason.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>QMP events of the current (or last) run.</summary>
    public IReadOnlyList<QmpEvent> Events => _qmp?.Seen ?? _lastEvents;

    private IReadOnlyList<QmpEvent> _lastEvents = [];

    /// <summary>Raised when the QEMU process exits, whoever ended it.</summary>
    public event Action<QemuVm>? Exited;

    /// <summary>The CPU time the QEMU process has used (all vCPUs and the emulator), read from the host; null when it is not running.</summary>
    public TimeSpan? ProcessCpuTime
    {
        get
        {
            if (_process is not { } p) return null;
            try
            {
                p.Refresh();
                return p.HasExited ? null : p.TotalProcessorTime;
            }
            catch (InvalidOperationException) { return null; }
        }
    }

    public QmpClient Qmp => _qmp is { IsClosed: false } q ? q : throw NotRunning("QMP");

    public GuestAgentClient Agent => Power == VmPower.Up && _agent is { IsClosed: false } a ? a : throw NotRunning("the guest agent");

    private CompGridException NotRunning(string what) =>
        new($"VM '{Node.Name}' is {Power.ToString().ToLowerInvariant()}: {what} is not available.") { Backend = _backend, Code = CompGridErrorCodes.Unavailable, IsTransient = true };

    /// <summary>Boots the VM and returns once its guest agent answers; no effect when it is up.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _power.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Power == VmPower.Up && _process is { HasExited: false }) return;
            await CleanUpAsync().ConfigureAwait(false);
            Power = VmPower.Starting;
            FailureReason = null;
            long started = _time.GetTimestamp();
            try
            {
                await BootAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                FailureReason = ex.Message;
                Power = VmPower.Failed;
                await KillAsync().ConfigureAwait(false);
                throw ex as CompGridException ?? new CompGridException($"VM '{Node.Name}' did not start: {ex.Message}", ex)
                { Backend = _backend, Operation = "start", Code = CompGridErrorCodes.NodeStartFailed, IsTransient = true };
            }
            catch
            {
                Power = VmPower.Off;
                await KillAsync().ConfigureAwait(false);
                throw;
            }
            Power = VmPower.Up;
            Log.Up(_logger, _backend, Node.Name, _time.GetElapsedTime(started));
        }
        finally
        {
            _power.Release();
        }
    }

    private async Task BootAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Paths.Directory);
        foreach (var stale in new[] { Paths.Qmp, Paths.Agent, Paths.Pid }) File.Delete(stale);
        var psi = new ProcessStartInfo(_options.QemuBinary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in QemuArguments.Build(Node.Name, Template, Paths, _options.Accelerator)) psi.ArgumentList.Add(a);
        lock (_stderr) _stderr.Clear();
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) if (_stderr.Length < 8192) _stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) => OnExited(process);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        Log.Starting(_logger, _backend, Node.Name, process.Id);

        using var deadline = new CancellationTokenSource(_options.BootTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            // QEMU creates the monitor socket before the guest runs; the agent's channel opens once qemu-ga starts.
            while (!File.Exists(Paths.Qmp)) await WaitStepAsync(process, linked.Token).ConfigureAwait(false);
            _qmp = await QmpClient.ConnectAsync(Paths.Qmp, _options.CommandTimeout, _time, e => Log.Event(_logger, Node.Name, e.ToString()), linked.Token).ConfigureAwait(false);
            while (!await _qmp.IsFrontendOpenAsync(QemuArguments.AgentChardev, linked.Token).ConfigureAwait(false))
                await WaitStepAsync(process, linked.Token).ConfigureAwait(false);
            while (true)
            {
                try
                {
                    _agent = await GuestAgentClient.ConnectAsync(Paths.Agent, TimeSpan.FromSeconds(3), _time, linked.Token).ConfigureAwait(false);
                    break;
                }
                catch (CompGridException ex) when (ex.IsTransient)
                {
                    await WaitStepAsync(process, linked.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CompGridException($"VM '{Node.Name}' did not answer through its guest agent within {_options.BootTimeout.TotalSeconds:0} s (serial log: {Paths.Serial}).")
            { Backend = _backend, Operation = "start", Code = CompGridErrorCodes.NodeStartFailed, IsTransient = true };
        }
    }

    private async Task WaitStepAsync(Process process, CancellationToken cancellationToken)
    {
        if (process.HasExited)
        {
            string err;
            lock (_stderr) err = _stderr.ToString().Trim();
            throw new CompGridException($"QEMU for VM '{Node.Name}' exited with code {process.ExitCode} while starting: {err}")
            { Backend = _backend, Operation = "start", Code = CompGridErrorCodes.NodeStartFailed };
        }
        await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Powers the VM off: the ACPI power button (<c>system_powerdown</c>), then <c>quit</c> once
    /// <see cref="QemuBackendOptions.PowerDownGracePeriod"/> passes, then SIGKILL by pid.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _power.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var process = _process;
            if (process is null || process.HasExited) { await CleanUpAsync().ConfigureAwait(false); return; }
            Power = VmPower.Stopping;
            Log.PoweringDown(_logger, _backend, Node.Name, "system_powerdown");
            if (await TryCommandAsync("system_powerdown").ConfigureAwait(false) && await ExitsWithinAsync(process, _options.PowerDownGracePeriod, cancellationToken).ConfigureAwait(false))
            { await CleanUpAsync().ConfigureAwait(false); return; }
            Log.PoweringDown(_logger, _backend, Node.Name, "quit");
            if (await TryCommandAsync("quit").ConfigureAwait(false) && await ExitsWithinAsync(process, _options.CommandTimeout, cancellationToken).ConfigureAwait(false))
            { await CleanUpAsync().ConfigureAwait(false); return; }
            Log.PoweringDown(_logger, _backend, Node.Name, "SIGKILL");
            await KillAsync().ConfigureAwait(false);
        }
        finally
        {
            _power.Release();
        }
    }

    private async Task<bool> TryCommandAsync(string command)
    {
        try
        {
            await Qmp.ExecuteAsync(command, null, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (CompGridException)
        {
            return _process is { HasExited: true };
        }
    }

    private async Task<bool> ExitsWithinAsync(Process process, TimeSpan within, CancellationToken cancellationToken)
    {
        using var cts = new CancellationTokenSource(within, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cts.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void OnExited(Process process)
    {
        if (!ReferenceEquals(process, _process)) return;
        if (Power is VmPower.Up) Log.Exited(_logger, _backend, Node.Name, process.ExitCode);
        if (Power is not VmPower.Failed) Power = VmPower.Off;
        Exited?.Invoke(this);
    }

    private async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var power = Power;
        await CleanUpAsync().ConfigureAwait(false);
        if (power == VmPower.Failed) Power = VmPower.Failed;
    }

    private async Task CleanUpAsync()
    {
        if (_agent is not null) { await _agent.DisposeAsync().ConfigureAwait(false); _agent = null; }
        if (_qmp is not null)
        {
            // Disposing waits for the event loop to drain what QEMU sent before it exited (a loaded thread pool can leave
            // POWERDOWN and SHUTDOWN queued), so the run's events are read after it, not before.
            await _qmp.DisposeAsync().ConfigureAwait(false);
            _lastEvents = _qmp.Seen;
            _qmp = null;
        }
        if (_process is { HasExited: true } p) { await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false); p.Dispose(); _process = null; }
        if (Power != VmPower.Failed) Power = VmPower.Off;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false }) await KillAsync().ConfigureAwait(false);
        else await CleanUpAsync().ConfigureAwait(false);
        _power.Dispose();
    }
}
