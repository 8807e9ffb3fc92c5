// The charts beside the map: free blocks per order and migratetype (stacked bars), time series of
// free pages with the watermarks, compaction counters with the order-9 fragmentation index, and the
// event markers on the timeline (click one to seek there). Series are kept client-side.

import { EVENT_COLORS, MIGRATETYPE_COLORS, MISSING_COLOR, SERIES_COLORS, counterColor } from "./palette.js";

const MAX_POINTS = 4000;
const MAX_MARKERS_PER_NAME = 400;
// one shape per event kind besides its colour, so kinds stay apart without colour vision
const EVENT_SYMBOLS = ["diamond", "circle", "square", "triangle-up", "triangle-down", "star", "hexagon", "x"];

const BASE_LAYOUT = {
  margin: { l: 70, r: 64, t: 8, b: 110 },
  paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
  font: { size: 14, family: "system-ui, sans-serif" },
  legend: { orientation: "h", x: 0, y: -0.34, yanchor: "top", font: { size: 13 } },
  hovermode: "x",
};
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

/** Time series kept in the page, truncated when the tick goes backwards (seek back, reset).
 * `counters`: the vm_events counters of the compaction chart (hello.vocab.chart_counters). */
export class Series {
  constructor(counters = []) { this.counterNames = counters; this.clear(); }

  clear() {
    this.rev = (this.rev || 0) + 1; // layout.datarevision: the arrays are mutated in place
    this.tick = [];
    this.free = []; this.min = []; this.low = []; this.high = [];
    this.frag = [];
    this.counters = Object.fromEntries(this.counterNames.map((c) => [c, []]));
    this.markers = new Map(); // name -> Map(tick -> {count, text})
  }

  columns() { return [this.tick, this.free, this.min, this.low, this.high, this.frag, ...Object.values(this.counters)]; }

  truncateFrom(tick) {
    let i = this.tick.length;
    while (i > 0 && this.tick[i - 1] >= tick) i--;
    if (i < this.tick.length) for (const col of this.columns()) col.length = i;
    for (const m of this.markers.values()) for (const t of [...m.keys()]) if (t >= tick) m.delete(t);
  }

  push(tick, zone, vmstat) {
    this.truncateFrom(tick);
    this.rev += 1;
    const n = this.tick.length;
    if (n >= 2) {
      // a seek forward: leave a gap (nulls) rather than draw a line across ticks never seen
      const step = Math.max(1, this.tick[n - 1] - this.tick[n - 2]);
      if (tick - this.tick[n - 1] > Math.max(10, 4 * step)) {
        for (const col of this.columns()) col.push(null);
        this.tick[this.tick.length - 1] = this.tick[n - 1] + 1;
      }
    }
    this.tick.push(tick);
    this.free.push(zone.free_pages);
    this.min.push(zone.watermark_min);
    this.low.push(zone.watermark_low);
    this.high.push(zone.watermark_high);
    this.frag.push(zone.fragindex_9 <= -1000 ? -1 : zone.fragindex_9 / 1000);
    for (const c of this.counterNames) this.counters[c].push(vmstat && c in vmstat ? vmstat[c] : null);
    if (this.tick.length > MAX_POINTS) {
      for (const col of this.columns()) {
        const kept = col.filter((_, i) => i % 2 === 0 || i === col.length - 1);
        col.length = 0;
        col.push(...kept);
      }
    }
  }

  /** The series as CSV text: one row per tick, the zone's pages and watermarks, then the counters. */
  toCsv(zoneName) {
    const head = ["tick", "free_pages", "watermark_min", "watermark_low", "watermark_high", "fragindex_9",
      ...this.counterNames];
    const lines = [`# zone ${zoneName}`, head.join(",")];
    for (let i = 0; i < this.tick.length; i++) {
      if (this.free[i] === null) continue; // the gap left by a seek
      const row = [this.tick[i], this.free[i], this.min[i], this.low[i], this.high[i], this.frag[i],
        ...this.counterNames.map((c) => this.counters[c][i] ?? "")];
      lines.push(row.join(","));
    }
    return `${lines.join("\n")}\n`;
  }

  /** Replace the series with the session's history (a `history` message: columns by zone and counter). */
  load(h, zoneIndex) {
    const markers = this.markers;
    this.clear();
    const z = h.zones[zoneIndex];
    const n = h.tick.length;
    for (let i = 0; i < n; i++) {
      this.tick.push(h.tick[i]);
      this.free.push(z.free_pages[i]);
      this.min.push(z.watermark_min[i]);
      this.low.push(z.watermark_low[i]);
      this.high.push(z.watermark_high[i]);
      this.frag.push(z.fragindex_9[i] <= -1000 ? -1 : z.fragindex_9[i] / 1000);
      for (const c of this.counterNames) this.counters[c].push(h.vmstat && h.vmstat[c] ? h.vmstat[c][i] : null);
    }
    // event markers are not in the history: keep the ones seen up to its last tick
    const last = n ? h.tick[n - 1] : -1;
    for (const [name, m] of markers) {
      const kept = new Map([...m].filter(([t]) => t <= last));
      if (kept.size) this.markers.set(name, kept);
    }
  }

  addEvents(events) {
    for (const ev of events) {
      let m = this.markers.get(ev.name);
      if (!m) { m = new Map(); this.markers.set(ev.name, m); }
      const cur = m.get(ev.tick);
      if (cur) cur.count += 1;
      else m.set(ev.tick, { count: 1, text: ev.text });
      if (m.size > MAX_MARKERS_PER_NAME) m.delete(m.keys().next().value);
    }
  }
}

export class Charts {
  constructor(els, onSeek) {
    this.els = els;
    this.onSeek = onSeek;
    this.series = new Series();
    this.zoneIndex = 0;
    this.lastMetrics = null;
    this.migratetypes = []; // hello.vocab.migratetypes: the free_area columns
  }

  /** The server's lists the charts show (hello.vocab): the free_area columns and the counters. */
  setVocab(vocab) {
    this.migratetypes = vocab.migratetypes;
    const counters = vocab.chart_counters;
    if (counters.join() !== this.series.counterNames.join()) this.series = new Series(counters);
  }

  attach() {
    this.attached = true;
    this.els.free.on("plotly_click", (ev) => {
      const pt = ev.points && ev.points.find((p) => p.data && p.data.meta === "event");
      if (pt) this.onSeek(Math.round(pt.x));
    });
  }

  /** The zone shown in the charts: the one with the most managed pages. */
  pickZone(zones) {
    let best = 0;
    zones.forEach((z, i) => { if (z.managed > zones[best].managed) best = i; });
    return best;
  }

  /** The session's chart history (on joining, and after a seek): the series up to now, gap-free. */
  loadHistory(h) {
    if (!Array.isArray(h.tick) || !Array.isArray(h.zones) || !h.zones.length) return;
    this.zoneIndex = this.pickZone(h.zones);
    this.series.load(h, this.zoneIndex);
    const m = this.lastMetrics;
    if (m && m.zones && m.zones.length && (!h.tick.length || m.tick > h.tick[h.tick.length - 1])) {
      this.series.push(m.tick, m.zones[this.zoneIndex], m.vmstat); // a frame newer than the history
    }
  }

  addMetrics(m) {
    if (!m.zones || !m.zones.length) return;
    this.zoneIndex = this.pickZone(m.zones);
    this.series.push(m.tick, m.zones[this.zoneIndex], m.vmstat);
    if (Array.isArray(m.events)) this.series.addEvents(m.events);
    this.lastMetrics = m;
  }

  render() {
    const m = this.lastMetrics;
    if (!m) return Promise.resolve();
    return Promise.all([this.renderFreeArea(m), this.renderFree(), this.renderCompact()]).then(() => {
      if (!this.attached) this.attach();
    });
  }

  renderFreeArea(m) {
    const zone = m.zones[this.zoneIndex];
    const orders = zone.free_area.map((_, o) => o);
    const data = this.migratetypes.map((name, mt) => ({
      type: "bar", name, x: orders, y: zone.free_area.map((row) => row[mt] || 0),
      marker: { color: MIGRATETYPE_COLORS[name] ?? MISSING_COLOR },
      hovertemplate: `${name}: %{y} free blocks of order %{x}<extra></extra>`,
    }));
    const layout = { ...BASE_LAYOUT, barmode: "stack", hovermode: "closest",
      xaxis: { title: { text: `order (zone ${zone.name})`, standoff: 4 }, dtick: 1 },
      yaxis: { title: { text: "free blocks" }, rangemode: "tozero" } };
    return Plotly.react(this.els.freeArea, data, layout, CONFIG);
  }

  markerTraces(yTop) {
    const traces = [];
    let k = 0;
    for (const [name, m] of this.series.markers) {
      const xs = [], ys = [], texts = [];
      for (const [tick, info] of m) {
        xs.push(tick);
        ys.push(yTop * (0.97 - 0.05 * (k % 6)));
        texts.push(info.count > 1 ? `${info.count} × ${name}<br>${info.text}` : `${name}<br>${info.text}`);
      }
      traces.push({
        type: "scatter", mode: "markers", name, x: xs, y: ys, text: texts, meta: "event",
        hovertemplate: "tick %{x}: %{text}<extra></extra>",
        marker: { symbol: EVENT_SYMBOLS[k % EVENT_SYMBOLS.length], size: 12,
          color: EVENT_COLORS[k % EVENT_COLORS.length],
          line: { color: "#000", width: 1 } },
      });
      k++;
    }
    return traces;
  }

  renderFree() {
    const s = this.series;
    const zone = this.lastMetrics.zones[this.zoneIndex];
    const yTop = Math.max(zone.managed || 0, ...s.free.slice(-1), 1);
    const mode = s.tick.length < 30 ? "lines+markers" : "lines";
    const line = (name, y, color, dash) => ({ type: "scatter", mode, name, x: s.tick, y,
      line: { color, width: dash ? 2 : 3, dash: dash || "solid" } });
    const data = [
      line("free pages", s.free, SERIES_COLORS.free),
      line("high watermark", s.high, SERIES_COLORS.high, "dash"),
      line("low watermark", s.low, SERIES_COLORS.low, "dashdot"),
      line("min watermark", s.min, SERIES_COLORS.min, "dot"),
      ...this.markerTraces(yTop),
    ];
    const layout = { ...BASE_LAYOUT, hovermode: "closest", datarevision: s.rev,
      xaxis: { title: { text: "tick", standoff: 4 }, rangemode: "tozero" },
      yaxis: { title: { text: `pages (${zone.name})` }, range: [0, yTop * 1.02] } };
    return Plotly.react(this.els.free, data, layout, CONFIG);
  }

  renderCompact() {
    const s = this.series;
    const data = s.counterNames.map((c) => ({
      type: "scatter", mode: s.tick.length < 30 ? "lines+markers" : "lines", name: c, x: s.tick, y: s.counters[c],
      line: { color: counterColor(c), width: 2.5 },
    }));
    data.push({ type: "scatter", mode: "lines", name: "fragindex order 9 (right)", x: s.tick, y: s.frag,
      yaxis: "y2", line: { color: SERIES_COLORS.fragindex, width: 3, dash: "dot" } });
    const big = s.counterNames.some((c) => s.counters[c].some((v) => v >= 10));
    const layout = { ...BASE_LAYOUT, margin: { ...BASE_LAYOUT.margin, r: 86 }, datarevision: s.rev,
      xaxis: { title: { text: "tick", standoff: 4 }, rangemode: "tozero" },
      yaxis: big ? { title: { text: "count (log)" }, type: "log" } : { title: { text: "count" }, rangemode: "tozero" },
      yaxis2: { title: { text: "fragindex" }, overlaying: "y", side: "right", range: [-1.05, 1.05],
        tickmode: "linear", tick0: -1, dtick: 0.5, automargin: true, zeroline: false, showgrid: false } };
    return Plotly.react(this.els.compact, data, layout, CONFIG);
  }

  reset() { this.series.clear(); this.lastMetrics = null; }

  zoneName() {
    const m = this.lastMetrics;
    return m && m.zones[this.zoneIndex] ? m.zones[this.zoneIndex].name : "";
  }
}
