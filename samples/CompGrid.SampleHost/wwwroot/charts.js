// Bar charts drawn as SVG by the page (no library). barChart(element, [{key, amount}], {title, unit, vertical})
"use strict";
const charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = v => Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 });

  // Horizontal bars: one row per key (users, resources).
  function horizontal(target, data, { labelledBy, unit }) {
    const rows = data.length ? data : [{ key: "no charges", amount: 0 }];
    const max = Math.max(1e-9, ...rows.map(r => Number(r.amount)));
    const rowH = 22, labelW = 110, width = 360, barW = width - labelW - 70;
    const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, role: "img", "aria-labelledby": labelledBy });
    rows.forEach((r, i) => {
      const y = i * rowH + 2, w = Math.max(0, barW * Number(r.amount) / max);
      svg.append(el("text", { x: 0, y: y + 14 }, String(r.key).slice(0, 16)));
      const bar = el("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8 });
      bar.append(el("title", {}, `${r.key}: ${fmt(r.amount)} ${unit}`));
      svg.append(bar, el("text", { x: labelW + w + 4, y: y + 14 }, fmt(r.amount)));
    });
    target.replaceChildren(svg);
  }

  // Vertical bars: one column per day, labels every few days.
  function vertical(target, data, { labelledBy, unit }) {
    const width = 360, height = 160, base = 140, n = Math.max(1, data.length);
    const max = Math.max(1e-9, ...data.map(r => Number(r.amount)));
    const colW = (width - 40) / n;
    const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": labelledBy });
    svg.append(el("text", { x: 0, y: 12 }, fmt(max)), el("line", { x1: 36, y1: base, x2: width, y2: base, stroke: "#9aa0a6" }));
    data.forEach((r, i) => {
      const h = (base - 20) * Number(r.amount) / max, x = 38 + i * colW;
      const bar = el("rect", { x, y: base - h, width: Math.max(1, colW - 2), height: h });
      bar.append(el("title", {}, `${r.key}: ${fmt(r.amount)} ${unit}`));
      svg.append(bar);
      if (i % Math.ceil(n / 5) === 0) svg.append(el("text", { x, y: base + 14 }, r.key.slice(5)));
    });
    target.replaceChildren(svg);
  }
  return { horizontal, vertical };
})();
