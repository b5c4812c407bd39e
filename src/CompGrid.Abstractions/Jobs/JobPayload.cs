using System.Text.Json.Serialization;

namespace CompGrid;

/// <summary>The kind of work a job runs.</summary>
public enum PayloadKind
{
    /// <summary>A shell command line, run by <c>/bin/sh -c</c> (like <c>sbatch --wrap</c>).</summary>
    CommandLine,
    /// <summary>A script text, run by its interpreter (the shebang, or <c>/bin/sh</c>).</summary>
    Script,
    /// <summary>An executable with an argument list; no shell is involved.</summary>
    Executable,
    /// <summary>A container image with an optional command.</summary>
    Container,
}

/// <summary>
/// What a job runs. Exactly one of the payload kinds; build one with <see cref="Command(string)"/>,
/// <see cref="FromScript(string, string?)"/>, <see cref="Exec(string, string[])"/> or <see cref="Container(string, string[])"/>.
/// </summary>
public sealed record JobPayload
{
    /// <summary>The payload kind.</summary>
    public PayloadKind Kind { get; init; }

    /// <summary>For <see cref="PayloadKind.CommandLine"/>: the shell command line.</summary>
    public string? CommandLine { get; init; }

    /// <summary>For <see cref="PayloadKind.Script"/>: the script text.</summary>
    public string? Script { get; init; }

    /// <summary>For <see cref="PayloadKind.Script"/>: the interpreter (for example <c>/bin/bash</c>); when null the script's shebang or <c>/bin/sh</c>.</summary>
    public string? Interpreter { get; init; }

    /// <summary>For <see cref="PayloadKind.Executable"/>: the program path.</summary>
    public string? Executable { get; init; }

    /// <summary>For <see cref="PayloadKind.Executable"/> and <see cref="PayloadKind.Container"/>: the argument list (the container command).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>For <see cref="PayloadKind.Container"/>: the image reference.</summary>
    public string? Image { get; init; }

    /// <summary>For <see cref="PayloadKind.Container"/>: whether the container gets a network. The default is <see langword="false"/> (no network).</summary>
    public bool Network { get; init; }

    /// <summary>For <see cref="PayloadKind.Container"/>: whether the root filesystem is read-only. The default is <see langword="false"/>.</summary>
    public bool ReadOnlyRootFilesystem { get; init; }

    /// <summary>A shell command line, run like <c>sbatch --wrap</c>.</summary>
    public static JobPayload Command(string commandLine) => new() { Kind = PayloadKind.CommandLine, CommandLine = commandLine };

    /// <summary>A script, run by <paramref name="interpreter"/> or its shebang.</summary>
    public static JobPayload FromScript(string script, string? interpreter = null) => new() { Kind = PayloadKind.Script, Script = script, Interpreter = interpreter };

    /// <summary>An executable with arguments; no shell is involved.</summary>
    public static JobPayload Exec(string executable, params string[] arguments) => new() { Kind = PayloadKind.Executable, Executable = executable, Arguments = arguments };

    /// <summary>A container image with an optional command.</summary>
    public static JobPayload Container(string image, params string[] command) => new() { Kind = PayloadKind.Container, Image = image, Arguments = command };

    /// <summary>Value equality, arguments compared element by element.</summary>
    public bool Equals(JobPayload? other) =>
        other is not null && Kind == other.Kind && CommandLine == other.CommandLine && Script == other.Script && Interpreter == other.Interpreter
        && Executable == other.Executable && Image == other.Image && Network == other.Network && ReadOnlyRootFilesystem == other.ReadOnlyRootFilesystem
        && Arguments.SequenceEqual(other.Arguments);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, CommandLine, Script, Executable, Image, Arguments.Count);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        PayloadKind.CommandLine => $"command: {CommandLine}",
        PayloadKind.Script => $"script ({Script?.Length ?? 0} chars)",
        PayloadKind.Executable => $"exec: {Executable} {string.Join(' ', Arguments)}",
        PayloadKind.Container => $"container: {Image} {string.Join(' ', Arguments)}",
        _ => Kind.ToString(),
    };
}
