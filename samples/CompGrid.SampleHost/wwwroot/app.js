// The CompGrid dashboard: plain JavaScript over the sample host's HTTP API, signed in with a session cookie.
// Every change carries the antiforgery token from GET /api/session (the host refuses cookie changes without it).
"use strict";
const $ = id => document.getElementById(id);
const TERMINAL = ["Completed", "Failed", "Cancelled", "TimedOut", "OutOfMemory", "NodeFailed", "Preempted", "Rejected"];
let session = null, admin = false, grants = [], logsJob = null, logsTimer = 0, refreshTimer = 0, quoteTimer = 0;

class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }

async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session?.antiforgeryToken) headers["X-CSRF-TOKEN"] = session.antiforgeryToken;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const type = r.headers.get("content-type") || "";
  const data = r.status === 204 ? null : type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, problemText(data) || `HTTP ${r.status}`);
  return data;
}

// Problem details name the field and the rule: show them as they are.
function problemText(p) {
  if (!p || typeof p !== "object") return typeof p === "string" ? p : "";
  if (p.errors) return Object.entries(p.errors).map(([f, m]) => `${f}: ${[].concat(m).join(", ")}`).join("; ");
  return p.detail || p.title || "";
}

const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value ?? ""; if (cls) e.className = cls; return e; };
const cell = (tr, value, cls) => { const td = text("td", value, cls); tr.append(td); return td; };
const button = (label, onClick, aria) => {
  const b = text("button", label); b.type = "button"; b.onclick = onClick; if (aria) b.setAttribute("aria-label", aria); return b;
};
const money = (amount, currency) => `${Number(amount).toLocaleString(undefined, { maximumFractionDigits: 4 })} ${currency}`;
const resources = r => `${r.cpus} CPU${r.memoryMiB ? `, ${r.memoryMiB} MiB` : ""}${r.gpus ? `, ${r.gpus} GPU` : ""}${r.nodes > 1 ? ` × ${r.nodes} nodes` : ""}`;

// ---- sign in / out ----
async function loadSession() {
  try { session = await api("/api/session"); }
  catch (e) { if (e.status === 401) { session = null; } else throw e; }
  admin = !!session?.roles.includes("Administrator");
  document.body.classList.toggle("admin", admin);
  $("signIn").hidden = !!session; $("app").hidden = !session; $("who").hidden = !session;
  if (session) { $("me").textContent = `Signed in as ${session.name}${admin ? " (administrator)" : ""}`; await refreshAll(); }
  else { clearTimeout(refreshTimer); $("signInUser").focus(); }
}

$("signInForm").onsubmit = async e => {
  e.preventDefault();
  $("signInError").textContent = "";
  try {
    await api("/api/session", { method: "POST", body: { user: $("signInUser").value, secret: $("signInSecret").value } });
    $("signInSecret").value = "";
    await loadSession();
  } catch (err) { $("signInError").textContent = err.status === 429 ? "Too many attempts; wait a minute." : err.message; }
};

$("signOut").onclick = async () => { await api("/api/session", { method: "DELETE" }).catch(() => {}); session = null; closeLogs(); await loadSession(); };

// ---- refresh loop ----
async function refreshAll() {
  clearTimeout(refreshTimer);
  try { await Promise.all([refreshJobs(), refreshGrants(), refreshNodes(), refreshUsage(), refreshSessions(), refreshServices()]); }
  catch (e) { if (e.status === 401) { await loadSession(); return; } }
  refreshTimer = setTimeout(refreshAll, 2000);
}

async function refreshJobs() {
  const rows = await api("/api/dashboard/jobs?limit=100");
  const tb = $("jobs").tBodies[0]; tb.replaceChildren();
  for (const { job, cost } of rows) {
    const tr = tb.insertRow(); tr.dataset.job = job.id;
    cell(tr, job.id); cell(tr, job.spec.name);
    cell(tr, job.spec.owner, "admin-only");
    cell(tr, job.state, "state state-" + job.state);
    cell(tr, job.state === "Queued" || job.state === "AwaitingApproval" || TERMINAL.includes(job.state) ? job.reason : "");
    cell(tr, cost ? money(cost.amount, cost.currency) + (cost.final ? "" : " (so far, estimated)") : "", "cost");
    const td = tr.insertCell();
    td.append(button("Logs", () => openLogs(job.id), `Logs of ${job.id}`));
    if (!TERMINAL.includes(job.state))
      td.append(button("Cancel", async () => { await api(`/api/jobs/${job.id}/cancel`, { method: "POST" }); refreshAll(); }, `Cancel ${job.id}`));
  }
  if (admin) renderApprovals(rows.map(r => r.job).filter(j => j.state === "AwaitingApproval"));
}

function renderApprovals(waiting) {
  $("approvalsEmpty").hidden = waiting.length > 0;
  const tb = $("approvals").tBodies[0];
  // Keep rows whose reason the administrator is typing; rebuild only when the set of waiting jobs changes.
  if (tb.dataset.ids === waiting.map(j => j.id).join(",")) return;
  tb.dataset.ids = waiting.map(j => j.id).join(","); tb.replaceChildren();
  for (const job of waiting) {
    const tr = tb.insertRow(); tr.dataset.job = job.id;
    cell(tr, `${job.id} (${job.spec.name})`); cell(tr, job.spec.owner); cell(tr, resources(job.spec.resources)); cell(tr, job.spec.account ?? "");
    const reason = document.createElement("input"); reason.setAttribute("aria-label", `Reason for ${job.id}`);
    tr.insertCell().append(reason);
    const decide = verb => async () => {
      try {
        await api(`/api/jobs/${job.id}/${verb}`, { method: "POST", body: { reason: reason.value || null } });
        $("approvalResult").textContent = `${job.id} ${verb === "approve" ? "approved" : "rejected"}.`;
        tb.dataset.ids = ""; refreshAll();
      } catch (e) { $("approvalResult").textContent = e.message; }
    };
    tr.insertCell().append(button("Approve", decide("approve"), `Approve ${job.id}`), button("Reject", decide("reject"), `Reject ${job.id}`));
  }
}

async function refreshGrants() {
  grants = await api("/api/grants");
  const tb = $("grants").tBodies[0]; tb.replaceChildren();
  for (const { grant, balance } of grants) {
    const tr = tb.insertRow(); tr.dataset.grant = grant.code;
    cell(tr, grant.code); cell(tr, grant.title);
    cell(tr, money(balance.balance, balance.currency), "balance"); cell(tr, money(balance.held, balance.currency), "held");
    cell(tr, money(balance.available, balance.currency), "available");
    const a = text("a", "CSV"); a.href = `/api/grants/${encodeURIComponent(grant.code)}/statement?format=csv`;
    a.download = `statement-${grant.code}.csv`; a.setAttribute("aria-label", `Statement of ${grant.code} (CSV)`);
    tr.insertCell().append(a);
  }
  fillGrantSelect($("jobGrant"), true); fillGrantSelect($("adjustGrant"), false);
}

function fillGrantSelect(select, allowNone) {
  const codes = grants.map(g => g.grant.code);
  if (select.dataset.codes === codes.join(",")) return;
  const current = select.value;
  select.replaceChildren(...(allowNone ? [new Option("(none)", "")] : []), ...codes.map(c => new Option(c, c)));
  select.dataset.codes = codes.join(",");
  if (codes.includes(current)) select.value = current;
  else if (codes.length && allowNone) { select.value = codes[0]; scheduleQuote(); }
  if (select.id === "adjustGrant") refreshAdjustments();
}

async function refreshNodes() {
  const nodes = await api("/api/nodes");
  const byBackend = Map.groupBy ? Map.groupBy(nodes, n => n.backend) : nodes.reduce((m, n) => m.set(n.backend, [...(m.get(n.backend) || []), n]), new Map());
  const parts = [];
  for (const [backend, list] of byBackend) {
    const h = text("h3", `${backend} (${list.length} node${list.length === 1 ? "" : "s"})`);
    const table = document.createElement("table"); table.setAttribute("aria-label", `Nodes of ${backend}`);
    table.createTHead().insertRow().append(...["Node", "State", "Free", "Capacity", "Health"].map(t => { const th = text("th", t); th.scope = "col"; return th; }));
    const tb = table.createTBody();
    for (const n of list) {
      const tr = tb.insertRow(); cell(tr, n.name); cell(tr, n.state);
      cell(tr, resources({ ...n.free, nodes: 1 })); cell(tr, resources({ ...n.capacity, nodes: 1 }));
      cell(tr, n.reason || n.nativeState || (n.state === "Up" ? "ok" : ""));
    }
    const wrap = document.createElement("div"); wrap.className = "scroll"; wrap.append(table);
    parts.push(h, wrap);
  }
  $("nodes").replaceChildren(...(parts.length ? parts : [text("p", "No nodes.")]));
}

async function refreshUsage() {
  const u = await api("/api/dashboard/usage?days=30");
  const unit = u.currencies.join("/") || "";
  charts.vertical($("chartDay"), u.byDay, { labelledBy: "chartDayTitle", unit });
  charts.horizontal($("chartUser"), u.byUser, { labelledBy: "chartUserTitle", unit });
  charts.horizontal($("chartResource"), u.byResource, { labelledBy: "chartResourceTitle", unit });
}

// ---- logs that follow a running job ----
async function openLogs(id) {
  logsJob = id; $("logsPanel").hidden = false; $("logsJob").textContent = id; $("logs").textContent = "";
  clearTimeout(logsTimer); await followLogs(id);
}
async function followLogs(id) {
  if (logsJob !== id) return;
  try {
    const [job, output] = await Promise.all([api(`/api/jobs/${id}`), api(`/api/jobs/${id}/logs`)]);
    if (logsJob !== id) return;
    const pre = $("logs"), atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    if (pre.textContent !== output) { pre.textContent = output; if (atEnd) pre.scrollTop = pre.scrollHeight; }
    $("logsState").textContent = `(${job.state})`;
    if (!TERMINAL.includes(job.state)) logsTimer = setTimeout(() => followLogs(id), 1000);
  } catch (e) { $("logsState").textContent = e.message; }
}
function closeLogs() { logsJob = null; clearTimeout(logsTimer); $("logsPanel").hidden = true; }
$("logsClose").onclick = closeLogs;

// ---- submit with a live quote ----
function jobBody() {
  const kind = $("jobKind").value, body = { name: $("jobName").value || "web" };
  const args = $("jobArgs").value.split("\n").map(s => s.trim()).filter(Boolean);
  if (kind === "command") body.command = $("jobCommand").value;
  if (kind === "script") body.script = $("jobScript").value;
  if (kind === "image") { body.image = $("jobImage").value; if (args.length) body.arguments = args; }
  body.cpus = +$("jobCpus").value; body.memoryMiB = +$("jobMemory").value; body.gpus = +$("jobGpus").value; body.nodes = +$("jobNodes").value;
  if ($("jobWalltime").value) body.walltimeSeconds = +$("jobWalltime").value;
  if ($("jobGrant").value) body.account = $("jobGrant").value;
  return body;
}
function scheduleQuote() { clearTimeout(quoteTimer); quoteTimer = setTimeout(updateQuote, 250); }
async function updateQuote() {
  const body = jobBody();
  for (const k of ["command", "script", "image"]) if (body[k] === "") delete body[k];   // a quote needs no payload
  try {
    const q = await api("/api/quotes", { method: "POST", body });
    $("quote").textContent = `Quote: at most ${money(q.amount, q.currency)}` +
      (q.spendable == null ? "" : ` — ${q.affordable ? "covered" : "NOT covered"} (spendable ${money(q.spendable, q.currency)})`);
  } catch (e) { $("quote").textContent = "Quote: " + e.message; }
}
$("submitForm").addEventListener("input", scheduleQuote);
$("jobKind").onchange = () => {
  const k = $("jobKind").value;
  $("commandField").hidden = k !== "command"; $("scriptField").hidden = k !== "script";
  $("imageField").hidden = k !== "image"; $("argsField").hidden = k !== "image";
};
$("submitForm").onsubmit = async e => {
  e.preventDefault();
  try {
    const job = await api("/api/jobs", { method: "POST", body: jobBody() });
    $("submitResult").textContent = `Submitted ${job.id}: ${job.state}${job.reason ? " — " + job.reason : ""}`;
    $("submitResult").dataset.job = job.id;
  } catch (err) { $("submitResult").textContent = "Not submitted: " + err.message; }
  refreshAll();
};

// ---- administrators: adjustments ----
async function refreshAdjustments() {
  const code = $("adjustGrant").value;
  if (!admin || !code) return;
  const s = await api(`/api/grants/${encodeURIComponent(code)}/statement?format=json`);
  const tb = $("adjustments").tBodies[0]; tb.replaceChildren();
  for (const a of s.adjustments) { const tr = tb.insertRow(); cell(tr, new Date(a.at).toLocaleString()); cell(tr, a.kind); cell(tr, money(a.amount, s.currency)); cell(tr, a.actor); cell(tr, a.reason); }
}
$("adjustGrant").onchange = refreshAdjustments;
$("adjustForm").onsubmit = async e => {
  e.preventDefault();
  try {
    await api(`/api/grants/${encodeURIComponent($("adjustGrant").value)}/adjustments`, { method: "POST", body: { amount: +$("adjustAmount").value, reason: $("adjustReason").value } });
    $("adjustResult").textContent = "Adjustment posted."; $("adjustAmount").value = ""; $("adjustReason").value = "";
    await refreshAdjustments(); refreshAll();
  } catch (err) { $("adjustResult").textContent = err.message; }
};

loadSession();
