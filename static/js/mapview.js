// The zone map: a Plotly heatmap of the frame's cells in physical address order, the two compaction
// scanner cursors with short trails, skipped blocks marked, and a hover box computed on demand.

import { cellPages, pfnToCell, NO_CELL } from "./protocol.js";

const fmtPfn = (p) => `0x${p.toString(16)}`;
const MIB_PER_PAGE = 4096 / (1 << 20);

const CURSOR_STYLE = {
  migrate: { symbol: "triangle-right", fill: "#ffffff", edge: "#000000", name: "migration scanner" },
  free: { symbol: "triangle-left", fill: "#000000", edge: "#ffffff", name: "free scanner" },
};

export class MapView {
  constructor(el, tooltip, lenses, legend = null) {
    this.el = el;
    this.legend = legend;
    this.legendLens = null;
    this.tooltip = tooltip;
    this.lenses = lenses;
    this.frame = null;
    this.metrics = null;
    this.zones = [];
    this.geometry = "";
    this.onZoomRows = null;
    this.onHoverPfn = null;
    this.hoverPfn = null; // first pfn of the hovered cell
    this.hoverLines = [];
    this.hoverTimer = null;
    this.lastHoverSent = 0;
  }

  setLenses(lenses) { this.lenses = lenses; }
  setZones(zones) { this.zones = zones || []; }

  /** Rows of display indices (NaN = no cell) through the lens's lookup table. */
  buildZ(frame, lut) {
    const { rows, cols, cells } = frame;
    const z = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = new Float32Array(cols);
      const base = r * cols;
      for (let c = 0; c < cols; c++) row[c] = lut[cells[base + c]];
      z[r] = row;
    }
    return z;
  }

  /**
   * Every mark on the map in ONE scatter trace (per-point symbol, size, colours): skip crosses first,
   * then the scanner trails, then the two cursors on top. One trace costs a third of three.
   */
  marksTrace(frame, metrics) {
    const x = [], y = [], symbol = [], size = [], color = [], edge = [], opacity = [];
    const add = (cell, sym, sz, fill, line, op) => {
      x.push(cell.col); y.push(cell.row); symbol.push(sym); size.push(sz);
      color.push(fill); edge.push(line); opacity.push(op);
    };
    // metrics.skipped (server addition): [[first pfn of the pageblock, reason], ...]. The mark sits in
    // the middle of the block, which on a per-page view is the middle of its 512 cells.
    if (frame.lens !== "skip" && metrics && Array.isArray(metrics.skipped)) {
      const mid = frame.unit === 1 ? 256 : 0;
      const sz = this.markSize(frame);
      for (const item of metrics.skipped) {
        const cell = pfnToCell(frame, (Array.isArray(item) ? item[0] : item) + mid);
        if (cell) add(cell, "x-thin", sz, "#000000", "#000000", 1);
      }
    }
    const scanners = (metrics && metrics.scanners) || [];
    const cursors = [];
    for (const s of scanners) {
      for (const kind of ["migrate", "free"]) {
        const st = CURSOR_STYLE[kind];
        const trail = (s[`trail_${kind}`] || []).slice(-8);
        trail.forEach((pfn, i) => {
          const cell = pfnToCell(frame, pfn);
          if (cell) add(cell, st.symbol, 7 + i, st.fill, st.edge, 0.25 + (0.5 * (i + 1)) / trail.length);
        });
        const cell = pfnToCell(frame, s[`${kind}_pfn`]);
        if (cell) cursors.push([cell, st.symbol, 20, st.fill, st.edge, s.active ? 1 : 0.55]);
      }
    }
    for (const c of cursors) add(...c);
    return {
      type: "scatter", mode: "markers", name: "marks", x, y, hoverinfo: "skip", showlegend: false,
      cliponaxis: false,
      marker: { symbol, size, color, opacity, line: { color: edge, width: 2 } },
    };
  }

  /** A skip mark fits its row: at most 80 % of a cell's height (pixels), between 4 and 12. */
  markSize(frame) {
    const plotH = this.height(frame) - 64;
    const plotW = (this.el.clientWidth || 900) - 108;
    const cell = Math.min(plotH / frame.rows, frame.unit === 1 ? plotW : plotW / frame.cols);
    return Math.max(4, Math.min(12, Math.floor(cell * 0.8)));
  }

  rowTicks(frame) {
    const step = Math.max(1, Math.ceil(frame.rows / 8));
    const vals = [], text = [];
    const pages = cellPages(frame) * frame.cols;
    for (let r = 0; r < frame.rows; r += step) {
      vals.push(r);
      text.push(fmtPfn(frame.firstPfn + r * pages));
    }
    return { vals, text };
  }

  /** Plot height: cells about square, within [560, 820] px. */
  height(frame) {
    const width = this.el.clientWidth || 900;
    const cell = Math.max(1, (width - 96 - 12) / frame.cols);
    return Math.round(Math.min(820, Math.max(560, frame.rows * cell + 110)));
  }

  layout(frame, L) {
    const ticks = this.rowTicks(frame);
    const per = frame.unit === 1 ? "page" : "2 MiB pageblock";
    return {
      height: this.height(frame), autosize: true,
      margin: { l: 96, r: 12, t: 8, b: 56 },
      paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
      font: { size: 15, family: "system-ui, sans-serif" },
      dragmode: "zoom", uirevision: this.geometry,
      xaxis: { title: { text: `cell = one ${per}, left to right`, font: { size: 14 } },
        showgrid: false, zeroline: false, constrain: "domain", range: [-0.5, frame.cols - 0.5] },
      yaxis: { title: { text: "row start pfn", font: { size: 14 }, standoff: 12 }, showgrid: false,
        zeroline: false, tickvals: ticks.vals, ticktext: ticks.text, range: [frame.rows - 0.5, -0.5] },
      // the legend (colour key, cursors, skipped marks) is HTML beside the plot: a Plotly legend is
      // measured and redrawn with every frame
      showlegend: false,
      hovermode: "closest",
    };
  }

  /** Render one frame (with its metrics, if they came). Resolves when Plotly has drawn it. */
  render(frame, metrics) {
    const L = this.lenses[frame.lens];
    if (!L) return Promise.reject(new Error(`no lens ${frame.lens} (hello lists the lenses)`));
    this.geometry = `${frame.unit}:${frame.rows}x${frame.cols}@${frame.firstPfn}`;
    this.frame = frame;
    this.metrics = metrics;
    const small = frame.rows * frame.cols <= 4096;
    const heat = {
      type: "heatmap", z: this.buildZ(frame, L.lut), zmin: L.zmin, zmax: L.zmax, colorscale: L.colorscale,
      // Gaps between cells cost 3x the render time: only on small maps. Large maps are drawn with
      // zsmooth "fast": one image pixel per cell, scaled up by the browser with crisp edges.
      hoverinfo: "none", xgap: small ? 1 : 0, ygap: small ? 1 : 0, zsmooth: small ? false : "fast",
      // the colour key is an HTML legend beside the map (drawn once per lens): a Plotly colour bar
      // would be redrawn with every frame
      showscale: false, name: L.title,
    };
    const data = [heat, this.marksTrace(frame, metrics)];
    this.drawLegend(L);
    const config = { displaylogo: false, responsive: true, scrollZoom: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] };
    return Plotly.react(this.el, data, this.layout(frame, L), config).then(() => {
      if (!this.attached) this.attach();
      if (this.hoverPfn !== null && !this.tooltip.hidden) this.requestDetail(this.hoverPfn);
    });
  }

  /** The lens's colour key: a swatch and a name per class. */
  drawLegend(L) {
    if (!this.legend || this.legendLens === L) return;
    this.legendLens = L;
    const title = document.createElement("span");
    title.className = "legend-title";
    title.textContent = `${L.title}:`;
    const items = L.names.map((name, i) => {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.setAttribute("role", "listitem");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = L.colors[i];
      item.append(sw, name);
      return item;
    });
    const marks = [
      ["cursor migrate", "▶", "migration scanner (compact_control.migrate_pfn), with its trail"],
      ["cursor free", "◀", "free scanner (compact_control.free_pfn), with its trail"],
      ["skipmark", "✕", "skipped by compaction"],
    ].map(([cls, glyph, text]) => {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.setAttribute("role", "listitem");
      const g = document.createElement("span");
      g.className = `glyph ${cls}`;
      g.textContent = glyph;
      item.append(g, text);
      return item;
    });
    const br = document.createElement("span");
    br.className = "legend-break";
    this.legend.replaceChildren(title, ...items, br, ...marks);
  }

  attach() {
    this.attached = true;
    this.el.on("plotly_hover", (ev) => this.showHover(ev));
    this.el.on("plotly_unhover", () => { this.tooltip.hidden = true; this.hoverPfn = null; });
    this.el.on("plotly_relayout", (ev) => this.relayout(ev));
  }

  relayout(ev) {
    const f = this.frame;
    if (!f || !this.onZoomRows) return;
    const y0 = ev["yaxis.range[0]"], y1 = ev["yaxis.range[1]"];
    if (y0 === undefined || y1 === undefined) return;
    const lo = Math.max(0, Math.ceil(Math.min(y0, y1)));
    const hi = Math.min(f.rows - 1, Math.floor(Math.max(y0, y1)));
    if (hi < lo) return;
    const pages = cellPages(f) * f.cols;
    this.onZoomRows(f.firstPfn + lo * pages, f.firstPfn + (hi + 1) * pages);
  }

  /** Text describing the cell at (row, col) of the current frame. */
  describeCell(row, col) {
    const f = this.frame;
    if (!f || row < 0 || col < 0 || row >= f.rows || col >= f.cols) return null;
    const idx = row * f.cols + col;
    const v = f.cells[idx];
    if (v === NO_CELL) return null;
    const n = cellPages(f);
    const start = f.firstPfn + idx * n;
    const end = start + n - 1;
    const L = this.lenses[f.lens];
    if (!L) return null;
    const zone = this.zones.find((z) => start >= z.start_pfn && start < z.end_pfn);
    const lines = [
      n === 1 ? `pfn ${fmtPfn(start)} (${start})` : `pfn ${fmtPfn(start)}–${fmtPfn(end)} (${start}–${end})`,
      `${zone ? `zone ${zone.name}, ` : ""}${n === 1 ? "page" : `pageblock ${Math.floor(start / 512)}`}, ` +
        `${(start * MIB_PER_PAGE).toFixed(1)} MiB`,
      `${L.title}: ${L.describe(v)}`,
    ];
    const extra = this.metrics && this.metrics.hover;
    if (extra && typeof extra === "object") {
      for (const [key, arr] of Object.entries(extra)) {
        if (Array.isArray(arr) && arr.length === f.rows * f.cols) lines.push(`${key}: ${arr[idx]}`);
      }
    }
    for (const s of (this.metrics && this.metrics.scanners) || []) {
      for (const kind of ["migrate", "free"]) {
        const p = s[`${kind}_pfn`];
        if (p >= start && p <= end) {
          lines.push(`${CURSOR_STYLE[kind].name} is here (${s.sync}, order ${s.order})`);
        }
      }
    }
    return lines;
  }

  cellStartPfn(row, col) {
    const f = this.frame;
    return f.firstPfn + (row * f.cols + col) * cellPages(f);
  }

  setTooltip(lines) {
    this.tooltip.replaceChildren(...lines.map((t) => {
      const d = document.createElement("div");
      d.textContent = t;
      return d;
    }));
  }

  /** Ask the server for the block's details (throttled: at most one request per 150 ms). */
  requestDetail(pfn) {
    if (!this.onHoverPfn) return;
    clearTimeout(this.hoverTimer);
    const wait = Math.max(0, 150 - (performance.now() - this.lastHoverSent));
    this.hoverTimer = setTimeout(() => {
      if (this.hoverPfn !== pfn || this.tooltip.hidden) return;
      this.lastHoverSent = performance.now();
      this.onHoverPfn(pfn);
    }, wait);
  }

  /** The server's `hover` answer: type, contents and skip reason of the block. */
  hoverDetail(m) {
    if (this.hoverPfn === null || this.tooltip.hidden) return;
    if (!(m.start_pfn <= this.hoverPfn && this.hoverPfn < m.end_pfn)) return;
    // the migratetype lens line says what "pageblock type" says: keep one of them
    const sameAsLens = this.frame && this.frame.unit === 0 && this.frame.lens === "migratetype";
    const lines = this.hoverLines.filter((_, i) => !(sameAsLens && i === 2));
    lines.push(`pageblock type: ${m.migratetype}`);
    lines.push(`pages: ${m.free} free, ${m.movable} movable, ${m.reclaimable} reclaimable, ${m.unmovable} unmovable`);
    lines.push(m.largest_order >= 0 ? `largest free block: order ${m.largest_order}` : "no free block");
    if (this.frame && this.frame.unit === 1 && this.frame.lens !== "page_kind") lines.push(`this page: ${m.page_kind}`);
    lines.push(m.skip ? `skip bit set${m.skip_reason ? `: ${m.skip_reason}` : ""}` :
      m.skip_reason ? `compaction passed it by: ${m.skip_reason}` : "no skip bit");
    this.setTooltip(lines);
  }

  showHover(ev) {
    const pt = ev.points && ev.points[0];
    if (!pt) return;
    const row = Math.round(pt.y), col = Math.round(pt.x);
    const lines = this.describeCell(row, col);
    if (!lines) { this.tooltip.hidden = true; this.hoverPfn = null; return; }
    const pfn = this.cellStartPfn(row, col);
    this.hoverLines = lines;
    this.setTooltip(lines);
    if (pfn !== this.hoverPfn) { this.hoverPfn = pfn; this.requestDetail(pfn); }
    const e = ev.event;
    const box = this.el.getBoundingClientRect();
    this.tooltip.style.left = `${Math.min(e.clientX - box.left + 16, box.width - 340)}px`;
    this.tooltip.style.top = `${e.clientY - box.top + 16}px`;
    this.tooltip.hidden = false;
  }
}
