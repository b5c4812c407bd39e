using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>Which of a job's output streams <c>Get-CompGridJobLog</c> writes.</summary>
public enum JobLogStream
{
    /// <summary>Standard output.</summary>
    Output,

    /// <summary>Standard error.</summary>
    Error,

    /// <summary>Standard output, then standard error.</summary>
    All,
}

/// <summary>
/// <c>Get-CompGridJobLog</c>: a job's output so far, one string per line (<c>-Raw</c>: the <see cref="JobLogs"/>
/// object with both streams and whether they were truncated).
/// </summary>
[Cmdlet(VerbsCommon.Get, "CompGridJobLog")]
[OutputType(typeof(string), typeof(JobLogs))]
public sealed class GetCompGridJobLogCommand : JobIdCmdlet
{
    /// <summary>Which stream to write; the default is Output.</summary>
    [Parameter]
    public JobLogStream Stream { get; set; } = JobLogStream.Output;

    /// <summary>Writes the logs as one object instead of lines.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <inheritdoc/>
    protected override void ProcessJob(string id)
    {
        var grid = Grid;
        var logs = Run(ct => grid.Client.GetLogsAsync(id, ct));
        if (Raw)
        {
            WriteObject(logs);
            return;
        }
        if (Stream is JobLogStream.Output or JobLogStream.All) WriteLines(logs.StandardOutput);
        if (Stream is JobLogStream.Error or JobLogStream.All) WriteLines(logs.StandardError);
        if (logs.Truncated) WriteWarning($"The logs of job '{id}' are truncated.");
    }

    private void WriteLines(string text)
    {
        if (text.Length == 0) return;
        string[] lines = text.Split('\n');
        int count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;   // a trailing newline ends the last line
        for (int i = 0; i < count; i++) WriteObject(lines[i].TrimEnd('\r'));
    }
}
