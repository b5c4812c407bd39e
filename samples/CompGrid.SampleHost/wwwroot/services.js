// Jupyter sessions and services on the dashboard: open a notebook (reached through /sessions/{id}/), deploy a
// service (reached through /services/{name}/) and watch its replicas, requests per second and cost so far.
"use strict";

async function refreshSessions() {
  fillGrantSelect($("sessionGrant"), true);
  const list = await api("/api/sessions");
  const tb = $("sessions").tBodies[0]; tb.replaceChildren();
  for (const s of list) {
    const tr = tb.insertRow(); tr.dataset.session = s.id;
    cell(tr, s.id.slice(0, 8)); cell(tr, s.jobId); cell(tr, s.state + (s.endReason ? ` (${s.endReason})` : ""), "state");
    const link = tr.insertCell();
    if (s.url) { const a = text("a", "Open notebook"); a.href = s.url; a.target = "_blank"; a.rel = "noopener"; a.setAttribute("aria-label", `Open notebook ${s.id.slice(0, 8)}`); link.append(a); }
    const td = tr.insertCell();
    if (s.state !== "Ended")
      td.append(button("Close", async () => { await api(`/api/sessions/${s.id}`, { method: "DELETE" }); refreshAll(); }, `Close session ${s.id.slice(0, 8)}`));
  }
}

$("sessionForm").onsubmit = async e => {
  e.preventDefault();
  try {
    const s = await api("/api/sessions", { method: "POST", body: $("sessionGrant").value ? { account: $("sessionGrant").value } : {} });
    $("sessionResult").textContent = `Opened session ${s.id.slice(0, 8)} (job ${s.jobId}): ${s.state}`;
    $("sessionResult").dataset.session = s.id;
  } catch (err) { $("sessionResult").textContent = "Not opened: " + err.message; }
  refreshAll();
};

async function refreshServices() {
  fillGrantSelect($("serviceGrant"), true);
  const views = await api("/api/services");
  const root = $("services"); root.replaceChildren();
  for (const { service: s, cost } of views) {
    const box = document.createElement("article"); box.dataset.service = s.name;
    box.setAttribute("aria-labelledby", `service-${s.name}`);
    const h = text("h3", ""); h.id = `service-${s.name}`;
    const a = text("a", s.name); a.href = s.url; a.target = "_blank"; a.rel = "noopener"; a.setAttribute("aria-label", `Open service ${s.name}`);
    h.append(a, text("span", ` ${s.spec.public ? "public" : "owner only"}, ${s.spec.balancing}`, "muted"));
    const healthy = s.replicas.filter(r => r.state === "Healthy").length;
    const facts = text("p", "");
    facts.append(text("span", `${healthy}/${s.desiredReplicas}`, "healthy"), " healthy replicas (",
      `${s.spec.minReplicas}–${s.spec.maxReplicas ?? s.spec.minReplicas}), `,
      text("span", `${s.requestsPerSecond.toFixed(2)}`, "rps"), " requests/s, restarts ", text("span", String(s.restarts), "restarts"),
      ", cost so far ", text("span", cost ? money(cost.amount, cost.currency) + (cost.final ? "" : " (estimated)") : "—", "cost"));
    const table = document.createElement("table"); table.setAttribute("aria-label", `Replicas of ${s.name}`);
    table.createTHead().insertRow().append(...["Replica", "Job", "State", "Failed checks", "In flight"].map(t => { const th = text("th", t); th.scope = "col"; return th; }));
    const tb = table.createTBody();
    for (const r of s.replicas) {
      const tr = tb.insertRow(); tr.dataset.replica = r.id; tr.dataset.job = r.jobId;
      cell(tr, String(r.id)); cell(tr, r.jobId); cell(tr, r.state, "state state-" + r.state); cell(tr, String(r.failures)); cell(tr, String(r.inFlight));
    }
    const wrap = document.createElement("div"); wrap.className = "scroll"; wrap.append(table);
    box.append(h, facts, wrap, button("Delete", async () => { await api(`/api/services/${s.name}`, { method: "DELETE" }); refreshAll(); }, `Delete service ${s.name}`));
    root.append(box);
  }
  if (!views.length) root.append(text("p", "No services.", "muted"));
}

$("serviceForm").onsubmit = async e => {
  e.preventDefault();
  const body = {
    name: $("serviceName").value, command: $("serviceCommand").value, replicas: +$("serviceReplicas").value,
    maxReplicas: +$("serviceMax").value, healthPath: $("serviceHealth").value || "/", balancing: $("serviceBalancing").value,
    public: $("servicePublic").checked,
  };
  if ($("serviceTarget").value) body.targetRequestsPerSecond = +$("serviceTarget").value;
  if ($("serviceGrant").value) body.account = $("serviceGrant").value;
  try {
    const { service: s } = await api("/api/services", { method: "POST", body });
    $("serviceResult").textContent = `Deployed ${s.name} at ${s.url} with ${s.replicas.length} replicas.`;
  } catch (err) { $("serviceResult").textContent = "Not deployed: " + err.message; }
  refreshAll();
};
