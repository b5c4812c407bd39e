using System.Globalization;

namespace CompGrid.Sessions.Jupyter;

/// <summary>The job that runs one notebook server: Debian's jupyter-notebook on 127.0.0.1, its token in the environment.</summary>
internal static class JupyterJob
{
    /// <summary>The label every session job carries (its value is the session id).</summary>
    public const string SessionLabel = "compgrid.session";

    // Fixed text: the port and base path are the manager's own values, never user input. HOME and Jupyter's folders
    // go to the job's working directory (the account the job runs as may have no home); the token comes through
    // JUPYTER_TOKEN, so it shows neither in `ps` nor in the server's log.
    private const string Script =
        "export HOME=\"$PWD\" JUPYTER_CONFIG_DIR=\"$PWD/.jupyter\" JUPYTER_DATA_DIR=\"$PWD/.jupyter/data\" JUPYTER_RUNTIME_DIR=\"$PWD/.jupyter/runtime\" IPYTHONDIR=\"$PWD/.ipython\"; " +
        "exec \"$1\" --no-browser --ip=127.0.0.1 --port=\"$2\" --port-retries=0 --NotebookApp.base_url=\"$3\" --notebook-dir=\"$PWD\"";

    public static JobSpec Spec(JupyterSessionOptions options, string owner, string? account, string sessionId, int port, string basePath, string token) => new()
    {
        Name = "jupyter-" + sessionId[..8],
        Owner = owner,
        Account = account,
        Payload = JobPayload.Exec("/bin/sh", "-c", Script, "jupyter-session", options.JupyterPath, port.ToString(CultureInfo.InvariantCulture), basePath),
        Resources = new ResourceRequest { Cpus = options.Cpus, MemoryMiB = options.MemoryMiB },
        Walltime = options.Walltime,
        Environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["JUPYTER_TOKEN"] = token },
        Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [SessionLabel] = sessionId },
        Constraints = new JobConstraints { Backend = options.Backend },
    };
}
