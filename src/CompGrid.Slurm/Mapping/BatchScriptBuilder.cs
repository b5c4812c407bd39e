using System.Text;

namespace CompGrid.Slurm.Mapping;

/// <summary>
/// Builds the batch script of a job. The script holds no <c>#SBATCH</c> directives (options travel as sbatch arguments or
/// REST fields); every user-supplied value is either a single-quoted shell word or base64 text, so quotes, newlines,
/// <c>$()</c> or backticks in names, environment values, paths or commands cannot change the script's structure.
/// </summary>
internal static class BatchScriptBuilder
{
    public static string Build(string compGridJobId, JobPayload payload, IReadOnlyDictionary<string, string> environment, string? jobDirectory)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append("# CompGrid job ").Append(ShellQuote.Quote(compGridJobId)).Append(" (generated; values are quoted words)\n");
        sb.Append("export COMPGRID_JOB_ID=").Append(ShellQuote.Quote(compGridJobId)).Append('\n');
        foreach (var (name, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            sb.Append("export ").Append(name).Append('=').Append(ShellQuote.Quote(value)).Append('\n');
        if (jobDirectory is not null)
        {
            string dir = ShellQuote.Quote(jobDirectory);
            sb.Append("mkdir -p -- ").Append(dir).Append(" && cd -- ").Append(dir).Append(" || exit 1\n");
        }
        switch (payload.Kind)
        {
            case PayloadKind.CommandLine:
                sb.Append("/bin/sh -c ").Append(ShellQuote.Quote(payload.CommandLine ?? "")).Append('\n');
                break;
            case PayloadKind.Executable:
                sb.Append(ShellQuote.Join([payload.Executable ?? "", .. payload.Arguments])).Append('\n');
                break;
            case PayloadKind.Script:
                string b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.Script ?? ""));
                sb.Append("cg_script=$(mktemp \"${TMPDIR:-/tmp}/compgrid-script.XXXXXXXX\") || exit 1\n");
                sb.Append("trap 'rm -f -- \"$cg_script\"' EXIT\n");
                sb.Append("base64 -d > \"$cg_script\" <<'COMPGRID_BASE64_END'\n");
                for (int i = 0; i < b64.Length; i += 76) sb.Append(b64.AsSpan(i, Math.Min(76, b64.Length - i))).Append('\n');
                sb.Append("COMPGRID_BASE64_END\n");
                sb.Append("chmod 700 -- \"$cg_script\"\n");
                if (payload.Interpreter is { Length: > 0 } interpreter)
                    sb.Append(ShellQuote.Quote(interpreter)).Append(" \"$cg_script\"\n");
                else if ((payload.Script ?? "").StartsWith("#!", StringComparison.Ordinal))
                    sb.Append("\"$cg_script\"\n");
                else
                    sb.Append("/bin/sh \"$cg_script\"\n");
                break;
            default:
                throw new JobValidationException("payload.kind", $"the Slurm backend does not run {payload.Kind} payloads");
        }
        return sb.ToString();
    }
}
