namespace CompGrid.Agents.Tests;

/// <summary>
/// A stand-in for UTM's <c>utmctl</c> (no macOS here), written as a bash script into a temp directory. It records each
/// argument list it gets and answers in utmctl's formats: <c>list</c> prints the header and <c>UUID status name</c>
/// rows (status padded to 8), <c>status</c> one word, <c>ip-address</c> one address a line, an unknown VM
/// "Error: Virtual machine not found." on standard error with exit code 1. Starting a VM runs its "guest" command in
/// the background (a real agent process, as a booting VM's agent would connect); suspend stops it with SIGSTOP, start
/// resumes it with SIGCONT, stop ends it (SIGTERM for <c>--request</c>, SIGKILL for <c>--force</c>).
/// </summary>
internal sealed class FakeUtmctl
{
    public FakeUtmctl(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(System.IO.Path.Combine(directory, "vms"), "");
        File.WriteAllText(CallsFile, "");
        File.WriteAllText(Path, Script.Replace("@STATE@", directory, StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Directory { get; }
    public string Path => System.IO.Path.Combine(Directory, "utmctl");
    private string CallsFile => System.IO.Path.Combine(Directory, "calls");

    /// <summary>Registers a VM; <paramref name="guest"/> is the program and arguments its "boot" starts, if any.</summary>
    public void AddVm(string uuid, string name, string status, IReadOnlyList<string>? guest = null)
    {
        File.AppendAllText(System.IO.Path.Combine(Directory, "vms"), $"{uuid}\t{name}\n");
        File.WriteAllText(System.IO.Path.Combine(Directory, uuid + ".status"), status + "\n");
        if (guest is not null) File.WriteAllLines(System.IO.Path.Combine(Directory, uuid + ".guest"), guest);
    }

    /// <summary>Every argument list utmctl was run with, oldest first.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Calls()
    {
        var calls = new List<IReadOnlyList<string>>();
        var current = new List<string>();
        foreach (string line in File.ReadAllLines(CallsFile))
        {
            if (line == "\u001e") { calls.Add(current); current = []; }
            else current.Add(line);
        }
        return calls;
    }

    /// <summary>The pid of a VM's running guest process, or null.</summary>
    public int? GuestPid(string uuid)
    {
        string file = System.IO.Path.Combine(Directory, uuid + ".pid");
        return File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out int pid) ? pid : null;
    }

    /// <summary>Kills the guest processes the script started, by their pid files.</summary>
    public void KillGuests()
    {
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, "*.pid"))
        {
            if (!int.TryParse(File.ReadAllText(file).Trim(), out int pid)) continue;
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (ArgumentException) { /* gone */ }
            catch (InvalidOperationException) { /* gone */ }
        }
    }

    private const string Script = """
        #!/bin/bash
        # A fake utmctl for tests: records its arguments, answers like UTM's utmctl.
        state='@STATE@'
        { printf '%s\n' "$@"; printf '\036\n'; } >> "$state/calls"
        sub="$1"; shift
        vm=""; style=""
        while [ $# -gt 0 ]; do
          case "$1" in
            --) shift; vm="$1"; shift ;;
            --request|--force|--kill) style="$1"; shift ;;
            -*) echo "Error: Unknown option '$1'" >&2; exit 64 ;;
            *) vm="$1"; shift ;;
          esac
        done
        if [ "$sub" = list ]; then
          echo "UUID                                 Status   Name"
          while IFS=$'\t' read -r uuid name; do
            printf '%s %-8s %s\n' "$uuid" "$(cat "$state/$uuid.status")" "$name"
          done < "$state/vms"
          exit 0
        fi
        uuid=""
        while IFS=$'\t' read -r u name; do
          if [ "$vm" = "$u" ] || [ "$vm" = "$name" ]; then uuid="$u"; fi
        done < "$state/vms"
        if [ -z "$uuid" ]; then echo "Error: Virtual machine not found." >&2; exit 1; fi
        status=$(cat "$state/$uuid.status")
        pidfile="$state/$uuid.pid"
        case "$sub" in
          status) echo "$status" ;;
          start)
            if [ "$status" = paused ]; then kill -CONT "$(cat "$pidfile")"
            elif [ "$status" = stopped ] && [ -f "$state/$uuid.guest" ]; then
              mapfile -t guest < "$state/$uuid.guest"
              setsid "${guest[@]}" > "$state/$uuid.log" 2>&1 < /dev/null &
              echo $! > "$pidfile"
            fi
            echo started > "$state/$uuid.status" ;;
          suspend)
            if [ "$status" != started ]; then echo "Error: Operation not available." >&2; exit 1; fi
            [ -f "$pidfile" ] && kill -STOP "$(cat "$pidfile")"
            echo paused > "$state/$uuid.status" ;;
          stop)
            if [ -f "$pidfile" ]; then
              pid=$(cat "$pidfile")
              kill -CONT "$pid" 2>/dev/null
              if [ "$style" = --request ]; then kill -TERM "$pid" 2>/dev/null; else kill -KILL "$pid" 2>/dev/null; fi
              for i in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                grep -q ') Z' "/proc/$pid/stat" 2>/dev/null && break
                sleep 0.1
              done
              rm -f "$pidfile"
            fi
            echo stopped > "$state/$uuid.status" ;;
          ip-address)
            if [ "$status" != started ]; then exit 0; fi
            echo "192.168.64.7"; echo "fe80::5054:ff:fe12:3456" ;;
          *) echo "Error: Unexpected argument '$sub'" >&2; exit 64 ;;
        esac
        """;
}
