// The "Memory pressure" panel: the processes with their oom_badness() points as bars (the one the OOM
// killer would pick now is highlighted and labelled), the notification mechanisms' levels (a glyph, a
// word and a colour each, so colour is never the only cue), PSI averages, meminfo totals, and a time
// series of free memory against the notification thresholds above Committed_AS against CommitLimit.
// Fed by the optional `metrics.pressure` object (docs/protocol.md); hidden while metrics carry none.

const OI = {
  black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
// ok / warning / critical: Okabe-Ito blue, orange, vermillion, each with its own glyph and word
export const LEVEL_STYLE = {
  ok: { glyph: "✓", cls: "pz-ok" },
  warn: { glyph: "▲", cls: "pz-warn" },
  crit: { glyph: "✖", cls: "pz-crit" },
  off: { glyph: "–", cls: "pz-off" },
};
const RENDER_MS = 250;
const LAYOUT = {
  margin: { l: 70, r: 20, t: 8, b: 40 },
  paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
  font: { size: 14, family: "system-ui, sans-serif" },
  legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, font: { size: 13 } },
  hovermode: "x",
};
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
const mib = (pages) => `${(pages * 4 / 1024).toFixed(pages < 2560 ? 1 : 0)} MiB`;

export class PressurePanel {
  constructor(root, send = () => false, isFollower = () => false) {
    this.root = root;
    this.send = send;
    this.isFollower = isFollower;
    this.comms = "";
    this.last = null;
    this.timer = null;
    this.lastRender = 0;
    this.summary = root.querySelector("#pressure-summary");
    this.levels = root.querySelector("#pressure-levels");
    this.table = root.querySelector("#pressure-procs tbody");
    this.kill = root.querySelector("#pressure-kill");
    this.chart = root.querySelector("#chart-pressure");
    this.bindActions();
  }

  /** The panel's controls: live actions, recorded like every other (share links replay them). */
  bindActions() {
    const form = this.root.querySelector("#pressure-form");
    if (!form) return;
    const comm = form.querySelector("#pressure-comm");
    const action = (a) => this.send({ type: "action", action: a });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = Math.trunc(Number(form.querySelector("#pressure-adj").value));
      if (comm.value && Number.isFinite(value)) action({ type: "oom_score_adj", comm: comm.value, value });
    });
    form.querySelector("#pressure-sigkill").addEventListener("click", () => {
      if (comm.value) action({ type: "kill", comm: comm.value });
    });
    form.querySelector("#pressure-drop").addEventListener("click", () => action({ type: "drop_caches", value: 3 }));
  }

  /** The process picker lists the running processes (kept as chosen while the list is unchanged). */
  syncPicker(p) {
    const sel = this.root.querySelector("#pressure-comm");
    if (!sel) return;
    const alive = p.processes.filter((r) => r.state === "alive").map((r) => r.comm);
    const key = alive.join("\n");
    if (key !== this.comms) {
      this.comms = key;
      const keep = sel.value;
      sel.replaceChildren(...alive.map((c) => { const o = el("option", null, c); o.value = c; return o; }));
      if (alive.includes(keep)) sel.value = keep;
    }
    const off = this.isFollower();
    for (const b of this.root.querySelectorAll("#pressure-form button, #pressure-form input")) {
      b.disabled = off || (b.id !== "pressure-drop" && !alive.length);
    }
  }

  /** Each metrics message: keep the newest, then redraw at most every RENDER_MS. The chart's history
   * comes with every message (thinned by the server), so a seek or a late join needs nothing else. */
  update(m) {
    const p = m && m.pressure;
    if (!p) {
      this.root.hidden = true;
      this.last = null;
      return;
    }
    this.root.hidden = false;
    this.last = { tick: m.tick, p };
    if (this.timer) return;
    const wait = Math.max(0, RENDER_MS - (performance.now() - this.lastRender));
    this.timer = setTimeout(() => { this.timer = null; this.render(); }, wait);
  }

  render() {
    if (!this.last) return;
    this.lastRender = performance.now();
    const { tick, p } = this.last;
    this.root.dataset.tick = String(tick);
    this.root.dataset.oomPick = p.oom_pick === null ? "" : String(p.oom_pick);
    this.root.dataset.kills = String(p.kills);
    this.renderSummary(p);
    this.renderLevels(p);
    this.renderProcs(p);
    this.syncPicker(p);
    this.renderChart(tick, p);
  }

  renderSummary(p) {
    const m = p.mem;
    const items = [
      ["MemFree", `${fmt(m.free)} pages (${mib(m.free)})`],
      ["MemAvailable", `${fmt(m.available)} pages`],
      ["Committed_AS", `${fmt(m.committed_as)} / CommitLimit ${fmt(m.commit_limit)}`],
      ["Swap", m.swap_total ? `${fmt(m.swap_used)} used of ${fmt(m.swap_total)}` : "none"],
      ["overcommit_memory", String(p.overcommit.mode) + (p.overcommit.refused
        ? ` — ${fmt(p.overcommit.refused)} ENOMEM, ${fmt(p.overcommit.wasted_pages)} pages sat free (wasted)` : "")],
      ["kswapd", p.kswapd.awake ? `awake, priority ${p.kswapd.priority}` : "asleep"],
    ];
    const frag = document.createDocumentFragment();
    for (const [k, v] of items) {
      const d = el("div", "pz-stat");
      d.append(el("span", "pz-key", k), el("span", "pz-val", v));
      frag.append(d);
    }
    this.summary.replaceChildren(frag);
    const kills = p.last_kills;
    if (kills.length) {
      const k = kills[kills.length - 1];
      this.kill.textContent = `✖ OOM kill at tick ${k.tick}: ${k.comm} (pid ${k.pid}), ` +
        `${fmt(k.points)} points, oom_score_adj ${k.oom_score_adj}` + (p.kills > 1 ? ` — ${p.kills} kills so far` : "");
      this.kill.hidden = false;
    } else {
      this.kill.hidden = true;
    }
  }

  chip(name, level, word, detail) {
    const st = LEVEL_STYLE[level];
    const c = el("div", `pz-chip ${st.cls}`);
    c.setAttribute("role", "listitem");
    c.dataset.level = level;
    c.append(el("span", "pz-glyph", st.glyph), el("strong", null, name), el("span", "pz-word", word));
    if (detail) c.append(el("span", "pz-detail", detail));
    return c;
  }

  renderLevels(p) {
    const L = p.levels;
    const chips = [];
    if (L.thresholds) {
      for (const t of L.thresholds) {
        const label = t.name === "about_to_swap" ? "about to swap" : "about to OOM";
        const crit = t.name === "about_to_oom";
        chips.push(this.chip(label, t.below ? (crit ? "crit" : "warn") : "ok", t.below ? "BELOW" : "ok",
          `${fmt(t.value)} ${t.below ? "<" : "≥"} ${fmt(t.threshold)} pages`));
      }
    }
    if (L.sigdanger) {
      const s = L.sigdanger;
      const lvl = s.free < s.npskill ? "crit" : s.free < s.npswarn ? "warn" : "ok";
      const word = lvl === "crit" ? "npskill: SIGKILL" : lvl === "warn" ? "npswarn: SIGDANGER" : "ok";
      chips.push(this.chip("SIGDANGER", lvl, word, `paging space free ${fmt(s.free)}`));
    }
    if (L.lowmem) {
      const l = L.lowmem;
      if (!l.active) chips.push(this.chip("lowmem", "off", "inactive", "set deny, low and high"));
      else {
        const lvl = l.high ? "crit" : l.low ? "warn" : "ok";
        const word = l.high ? "high (level 2)" : l.low ? "low (level 1)" : "ok";
        chips.push(this.chip("lowmem", lvl, word, `estimate ${fmt(l.estimate)}` + (l.denied ? `, ${fmt(l.denied)} denied` : "")));
      }
    }
    if (L.mem_notify) {
      const n = L.mem_notify;
      const recent = n.tick !== null && this.last.tick - n.tick < 50;
      chips.push(this.chip("/dev/mem_notify", recent ? "warn" : "ok", recent ? "readable" : "quiet",
        n.tick === null ? "no wake-up yet" : `t${n.tick}: woke ${n.woken} of ${n.nr_watchers}`));
    }
    if (L.vmpressure) {
      const v = L.vmpressure;
      const lvl = v.tick === null ? "ok" : v.level === "critical" ? "crit" : v.level === "medium" ? "warn" : "ok";
      chips.push(this.chip("vmpressure", lvl, v.tick === null ? "no window yet" : v.level,
        v.tick === null ? "" : `t${v.tick}: pressure ${v.pressure}`));
    }
    const pick = p.processes.find((r) => r.pid === p.oom_pick);
    if (p.reaping.length) {
      const v = p.processes.find((r) => r.pid === p.reaping[0]);
      chips.push(this.chip("OOM killer", "crit", "reaping", `${v ? v.comm : "pid"} (pid ${p.reaping[0]}): memory not back yet`));
    } else {
      chips.push(this.chip("OOM killer", p.kills ? "warn" : "ok", pick ? `would pick ${pick.comm}` : "no candidate",
        pick ? `${fmt(pick.points)} points` + (p.kills ? `; ${p.kills} killed` : "") : ""));
    }
    const psi = L.psi;
    const lvl = psi.full.avg10 >= 10 ? "crit" : psi.some.avg10 >= 1 ? "warn" : "ok";
    chips.push(this.chip("PSI memory", lvl, lvl === "ok" ? "ok" : lvl === "warn" ? "stalling" : "thrashing",
      `some ${psi.some.avg10.toFixed(2)} / ${psi.some.avg60.toFixed(2)} / ${psi.some.avg300.toFixed(2)}  ` +
      `full ${psi.full.avg10.toFixed(2)} / ${psi.full.avg60.toFixed(2)} / ${psi.full.avg300.toFixed(2)} ` +
      "% (avg10 / 60 / 300)"));
    this.levels.replaceChildren(...chips);
  }

  renderProcs(p) {
    const max = Math.max(1, ...p.processes.map((r) => r.points || 0));
    const rows = p.processes.map((r) => {
      const tr = el("tr");
      const pick = r.pid === p.oom_pick;
      tr.dataset.pid = String(r.pid);
      tr.dataset.state = r.state;
      if (pick) tr.classList.add("pz-pick");
      if (r.state === "killed") tr.classList.add("pz-killed");
      const name = el("td", "pz-comm", r.comm);
      if (pick) name.append(el("span", "pz-tag", "◀ OOM pick"));
      const st = { alive: "alive", waiting: "not started", killed: "✖ killed", restarting: "↻ restarting",
        exited: "exited" }[r.state] || r.state;
      const bar = el("td", "pz-bar-cell");
      if (r.points !== null) {
        const b = el("div", "pz-bar");
        b.style.width = `${Math.max(0, (100 * r.points) / max).toFixed(1)}%`;
        bar.append(b, el("span", "pz-points", fmt(r.points)));
      } else {
        bar.append(el("span", "pz-points muted", r.oom_score_adj === -1000 ? "exempt" : "–"));
      }
      const what = r.last && ["thresholds", "sigdanger"].includes(r.last.mechanism) ? r.last.level
        : r.last ? `${r.last.mechanism} ${r.last.level}` : "";
      const last = r.last ? `t${r.last.tick} ${what}` : "–";
      tr.append(el("td", "num", String(r.pid)), name, el("td", "pz-state", st + (r.restarts ? ` (×${r.restarts})` : "")),
        el("td", "num", fmt(r.rss)), el("td", "num", fmt(r.swap)), el("td", "num", String(r.oom_score_adj)), bar,
        el("td", "pz-last", last));
      return tr;
    });
    this.table.replaceChildren(...rows);
  }

  renderChart(tick, p) {
    if (typeof Plotly === "undefined" || !this.chart) return undefined;
    const h = p.history;
    const x = [...h.tick];
    const col = (name, now) => {
      const y = h[name] ? [...h[name]] : h.tick.map(() => 0);
      if (!x.length || x[x.length - 1] < tick) y.push(now);
      return y;
    };
    const m = p.mem;
    const free = col("free", m.free), available = col("available", m.available);
    const committed = col("committed_as", m.committed_as), limit = col("commit_limit", m.commit_limit);
    const swapUsed = col("swap_used", m.swap_used);
    if (!x.length || x[x.length - 1] < tick) x.push(tick);
    const mode = x.length < 30 ? "lines+markers" : "lines";
    const line = (name, y, color, dash, axis) => ({ type: "scatter", mode, name, x, y,
      yaxis: axis, line: { color, width: dash ? 2.5 : 3, dash: dash || "solid" },
      hovertemplate: `${name}: %{y} pages<extra></extra>` });
    const flat = (v) => x.map(() => v);
    const data = [
      line("MemFree", free, OI.black, null, "y"),
      line("MemAvailable", available, OI.blue, null, "y"),
    ];
    const th = p.levels.thresholds;
    if (th) {
      data.push(line("about to swap", flat(th[0].threshold), OI.orange, "dash", "y"));
      // about_to_oom compares MemAvailable + free swap: drawn as the MemAvailable at which it fires
      const oom = swapUsed.map((used) => {
        const at = th[1].threshold - (m.swap_total - (used || 0));
        return at > 0 ? at : null;
      });
      data.push(line("about to OOM", oom, OI.vermillion, "dot", "y"));
    }
    data.push(line("Committed_AS", committed, OI.purple, null, "y2"));
    data.push(line("CommitLimit", limit, OI.green, "dash", "y2"));
    if (m.swap_total) data.push(line("swap used", swapUsed, OI.sky, "dashdot", "y2"));
    const top = Math.max(1, ...free, ...available);
    const marks = p.marks || [];
    if (marks.length) {
      data.push({ type: "scatter", mode: "markers", name: "▼ notification", x: marks.map((k) => k[0]),
        y: marks.map(() => top * 0.93), yaxis: "y", text: marks.map((k) => k[1]),
        hovertemplate: "tick %{x}: %{text}<extra></extra>",
        marker: { symbol: "triangle-down", size: 13, color: OI.orange, line: { color: "#000", width: 1 } } });
    }
    const kills = p.last_kills;
    if (kills.length) {
      data.push({ type: "scatter", mode: "markers", name: "✖ OOM kill", x: kills.map((k) => k.tick),
        y: kills.map(() => top), yaxis: "y", text: kills.map((k) => `${k.comm} (pid ${k.pid}), ${k.points} points`),
        hovertemplate: "tick %{x}: killed %{text}<extra></extra>",
        marker: { symbol: "x", size: 14, color: OI.vermillion, line: { color: "#000", width: 1 } } });
    }
    const layout = { ...LAYOUT,
      grid: { rows: 2, columns: 1, pattern: "coupled", roworder: "top to bottom" },
      xaxis: { title: { text: "tick", standoff: 4 }, rangemode: "tozero" },
      yaxis: { title: { text: "pages free" }, rangemode: "tozero", domain: [0.46, 1] },
      yaxis2: { title: { text: "pages committed" }, rangemode: "tozero", domain: [0, 0.38] } };
    return Plotly.react(this.chart, data, layout, CONFIG);
  }
}
