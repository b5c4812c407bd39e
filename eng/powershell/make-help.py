#!/usr/bin/env python3
"""Writes src/CompGrid.PowerShell/en-US/CompGrid.PowerShell.dll-Help.xml (MAML help, what Get-Help reads for a binary
module) from the cmdlets' own XML doc comments, plus the examples below. Run it after changing a cmdlet's parameters:
  python3 eng/powershell/make-help.py
The PowerShell tests check that every parameter of every exported cmdlet is in the help, so a stale file fails them."""
import html, os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "CompGrid.PowerShell")
cmdlets_dir = os.path.join(root, "Cmdlets")

EXAMPLES = {
    "Connect-CompGrid": [("Connect-CompGrid -ConfigurationFile ./compgrid.json", "Starts an engine in this process from the file (Local backend, SQLite in its DataDirectory)."),
                         ("Connect-CompGrid -Uri http://127.0.0.1:5000 -Token $env:COMPGRID_TOKEN", "Talks to a portal over its HTTP API with a bearer token.")],
    "Disconnect-CompGrid": [("Disconnect-CompGrid", "Closes the session's connection; an in-process engine stops (running jobs are adopted at the next start).")],
    "Submit-CompGridJob": [('Submit-CompGridJob -Command "echo hi" | Wait-CompGridJob | Get-CompGridJobLog', "Submits a command, waits for it and prints its output."),
                           ("Submit-CompGridJob -Executable /usr/bin/python3 -ArgumentList train.py,--epochs,3 -Cpus 4 -Walltime 02:00:00 -Account chem-101", "Runs an executable with an argument list (never a shell string), charged to a grant.")],
    "Get-CompGridJob": [("Get-CompGridJob -State Running | Stop-CompGridJob -WhatIf", "Shows which running jobs would be cancelled."),
                        ("Get-CompGridJob -Id $job.Id", "One job by id.")],
    "Wait-CompGridJob": [("Get-CompGridJob -State Queued,Running | Wait-CompGridJob -Timeout 00:10:00", "Waits for every active job, at most ten minutes each; Ctrl+C stops waiting (the jobs keep running).")],
    "Stop-CompGridJob": [("Stop-CompGridJob -Id $job.Id -Confirm:$false -PassThru", "Cancels one job without asking and writes its record.")],
    "Get-CompGridJobLog": [("Get-CompGridJobLog $job.Id -Stream All", "Standard output, then standard error, one line per string."),
                           ("(Get-CompGridJobLog $job.Id -Raw).Truncated", "Whether the captured output was truncated.")],
    "Approve-CompGridJob": [("Get-CompGridJob -State AwaitingApproval | Approve-CompGridJob -Reason 'fine'", "Approves every waiting job."),
                            ("Approve-CompGridJob $id -Reject -Reason 'use the cluster'", "Rejects a job; the owner sees the reason.")],
    "Get-CompGridNode": [("Get-CompGridNode -Backend local", "The local backend's nodes with free and total resources.")],
    "Get-CompGridGrant": [("Get-CompGridGrant", "Every grant you may see, with balance, held and available amounts."),
                          ("Get-CompGridGrant chem-101 | Get-CompGridStatement", "One grant's statement for this month.")],
    "Get-CompGridStatement": [("Get-CompGridStatement chem-101 -From 2026-11-01 -To 2026-12-01", "November's statement: charges, adjustments, totals by user and resource."),
                              ("Get-CompGridStatement chem-101 -AsCsv | Set-Content chem-101.csv", "The statement as CSV.")],
    "Get-CompGridQuote": [("Get-CompGridQuote -Cpus 8 -Walltime 04:00:00 -Account chem-101", "The most such a job would cost, and whether the grant covers it.")],
}

COMMON = {"Connection": "The connection to use; the session's current one (from Connect-CompGrid) when omitted."}


def summary(block):
    m = re.search(r"<summary>(.*?)</summary>", block, re.S)
    text = re.sub(r"\s*///\s*", " ", m.group(1)) if m else ""
    text = re.sub(r"<c>(.*?)</c>", r"\1", text)
    text = re.sub(r'<see cref="([^"]*)"\s*/>', lambda x: x.group(1).split(".")[-1], text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(" ".join(text.split()))


def parse(path):
    src = open(path, encoding="utf-8").read()
    out = []
    for m in re.finditer(r'((?:\s*///[^\n]*\n)+)\s*\[Cmdlet\((Verbs\w+)\.(\w+), "(\w+)"(.*?)\)\]\n(.*?)public sealed class (\w+) : (\w+)', src, re.S):
        doc, verb = m.group(1), m.group(3)
        name = f"{verb}-{m.group(4)}"
        should = "SupportsShouldProcess = true" in m.group(5)
        body_start = m.end()
        nxt = re.search(r"\n\[Cmdlet\(|\n/// <summary>.*?\n\[Cmdlet", src[body_start:], re.S)
        body = src[body_start: body_start + (nxt.start() if nxt else len(src))]
        params = []
        for p in re.finditer(r'((?:\s*///[^\n]*\n)+)((?:\s*\[[^\n]*\]\n)+)\s*public ([\w.?\[\]<>]+) (\w+) \{', body):
            if "[Parameter" not in p.group(2):
                continue
            mandatory = "Mandatory = true" in p.group(2)
            pipeline = "ValueFromPipeline" in p.group(2)
            params.append((p.group(4), p.group(3).rstrip("?"), summary(p.group(1)), mandatory, pipeline))
        base = m.group(8)
        out.append((name, verb, m.group(4), summary(doc), params, should, base))
    return out


bases = {"CompGridCmdlet": [("Connection", "CompGridConnection", COMMON["Connection"], False, False)]}
bases["JobIdCmdlet"] = [("Id", "string[]", "The job ids: from the command line, strings from the pipeline, or objects with an Id property (the job records other CompGrid cmdlets write).", True, True)] + bases["CompGridCmdlet"]

cmdlets = []
for f in sorted(os.listdir(cmdlets_dir)):
    if f.endswith(".cs"):
        cmdlets += parse(os.path.join(cmdlets_dir, f))
if len(cmdlets) < 12:
    sys.exit(f"found only {len(cmdlets)} cmdlets")

e = html.escape
xml = ['<?xml version="1.0" encoding="utf-8"?>',
       '<!-- Generated by eng/powershell/make-help.py from the cmdlets\' doc comments: edit those, then run the script. -->',
       '<helpItems schema="maml" xmlns="http://msh">']
for name, verb, noun, syn, params, should, base in cmdlets:
    allp = params + bases.get(base, [])
    if should:
        allp += [("WhatIf", "SwitchParameter", "Shows what would happen without doing it.", False, False),
                 ("Confirm", "SwitchParameter", "Asks before changing anything.", False, False)]
    xml += ['  <command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">',
            '    <command:details>',
            f'      <command:name>{name}</command:name>', f'      <command:verb>{verb}</command:verb>', f'      <command:noun>{noun}</command:noun>',
            f'      <maml:description><maml:para>{e(syn)}</maml:para></maml:description>',
            '    </command:details>',
            f'    <maml:description><maml:para>{e(syn)}</maml:para></maml:description>',
            '    <command:syntax>', '      <command:syntaxItem>', f'        <maml:name>{name}</maml:name>']
    for pn, pt, pd, mand, pipe in allp:
        xml.append(f'        <command:parameter required="{str(mand).lower()}" pipelineInput="{str(pipe).lower()}"><maml:name>{pn}</maml:name><command:parameterValue required="true">{e(pt)}</command:parameterValue></command:parameter>')
    xml += ['      </command:syntaxItem>', '    </command:syntax>', '    <command:parameters>']
    for pn, pt, pd, mand, pipe in allp:
        xml.append(f'      <command:parameter required="{str(mand).lower()}" pipelineInput="{"true (ByValue, ByPropertyName)" if pipe else "false"}">'
                   f'<maml:name>{pn}</maml:name><maml:description><maml:para>{e(pd)}</maml:para></maml:description>'
                   f'<command:parameterValue required="true">{e(pt)}</command:parameterValue></command:parameter>')
    xml += ['    </command:parameters>', '    <command:examples>']
    for i, (code, remarks) in enumerate(EXAMPLES.get(name, []), 1):
        xml += ['      <command:example>', f'        <maml:title>-------------------------- Example {i} --------------------------</maml:title>',
                f'        <dev:code>{e(code)}</dev:code>', f'        <dev:remarks><maml:para>{e(remarks)}</maml:para></dev:remarks>', '      </command:example>']
    xml += ['    </command:examples>', '  </command:command>']
xml.append('</helpItems>')
target = os.path.join(root, "en-US", "CompGrid.PowerShell.dll-Help.xml")
open(target, "w", encoding="utf-8").write("\n".join(xml) + "\n")
missing = [c[0] for c in cmdlets if c[0] not in EXAMPLES]
print(f"{len(cmdlets)} cmdlets written to {target}" + (f"; no examples for {missing}" if missing else ""))
