// zonescope dashboard: connects to /ws, renders frames with Plotly.react (skipping frames while a
// render is in flight, acking each frame once), keeps the charts, and exposes its state for tests
// as `window.zonescope.state` and data attributes on #map.

import { Charts } from "./charts.js";
import { Connection } from "./connection.js";
import { applyVocab, bindControls, fitDescription } from "./controls.js";
import { MapView } from "./mapview.js";
import { makeLenses } from "./palette.js";
import { PressurePanel } from "./pressure.js";
import { fnv1a, msg, pfnToCell } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const CHART_INTERVAL_MS = 250;
const METRICS_WAIT_MS = 120;
const MAX_LOG = 300;

class App {
  constructor() {
    const ds = document.body.dataset;
    this.state = {
      connected: false, closed: null, session: null, tick: null, seq: null, renderedSeq: null, lens: null,
      unit: null, rows: 0, cols: 0, firstPfn: 0, nrPages: 0, cellsHash: null, frameHash: null, renders: 0,
      dropped: 0, playing: false, tps: null, ticksPerFrame: null, sharePath: null, linkWanted: null, room: null, followRoom: null, view: null,
      error: ds.error || null,
      cursors: [], progress: null, proc: null, events: 0, lastRenderMs: null, achievedTps: null,
    };
    this.speedWindow = []; // [time ms, tick] of the frames of the last ~2 s while playing
    this.lenses = {}; // by name, from hello: no frame comes before it
    this.lensKeys = {}; // keyboard key -> lens name, from hello
    this.map = new MapView($("map"), $("map-tooltip"), this.lenses, $("map-legend"));
    this.map.onHoverPfn = (pfn) => this.send(msg.hover(pfn));
    this.charts = new Charts({ freeArea: $("chart-freearea"), free: $("chart-free"), compact: $("chart-compact") },
      (tick) => this.seek(tick));
    this.logQueue = []; // metrics whose events are not in the log yet
    this.pending = null; // newest decoded frame not rendered yet
    this.rendering = false;
    this.metrics = new Map(); // seq -> metrics
    this.lastChart = 0;
    this.chartTimer = null;
    this.metricsTimer = null;
    this.lastProcTick = null;
    this.procTimer = null;
    this.conn = null;
    this.pressure = new PressurePanel($("pressure-panel"), (m) => this.send(m),
      () => this.state.role === "follower");
  }

  // ------------------------------------------------------------------ connection
  wsUrl() {
    const ds = document.body.dataset;
    const params = new URLSearchParams(location.search);
    const enc = encodeURIComponent;
    let query = ds.wsQuery;
    if (params.get("session")) {
      query = `session=${enc(params.get("session"))}`;
    } else if (params.get("room")) {
      // the presenter's browser holds the room's key; anyone else follows the room
      const room = params.get("room");
      const key = roomKey(room);
      query = key ? `${ds.wsQuery}&room=${enc(room)}&key=${enc(key)}` : `room=${enc(room)}`;
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${ds.wsPath || "/ws"}${query ? `?${query}` : ""}`;
  }

  connect() {
    this.conn = new Connection(this.wsUrl(), {
      onOpen: () => { this.state.connected = true; this.setConn("live", "conn-ok"); },
      onMessage: (m) => this.onMessage(m),
      onFrame: (f) => this.onFrame(f),
      onClose: (code, text) => this.onClose(code, text),
      onProblem: (text) => this.showError(text),
    });
    this.conn.open();
  }

  send(obj) {
    if (!this.conn || !this.conn.send(obj)) {
      // after a close the banner already says why; do not cover it with this
      if (!this.state.closed && obj.type !== "ack" && obj.type !== "hover") {
        this.showError("not connected yet: wait a moment, or reload the page");
      }
      return false;
    }
    return true;
  }

  onClose(code, text) {
    this.state.connected = false;
    this.state.closed = { code, text };
    disableControls(true); // nothing to drive any more (a refused link, "server full", a restart)
    this.setConn(code === 1000 ? "closed" : "disconnected", "conn-bad");
    this.showError(code === 1008 ? text : `${text}. Reload the page to start again.`);
  }

  setConn(text, cls) {
    const el = $("conn");
    el.textContent = text;
    el.className = `conn ${cls}`;
  }

  // -------------------------------------------------------------------- messages
  onMessage(m) {
    switch (m.type) {
      case "hello": return this.onHello(m);
      case "metrics": return this.onMetrics(m);
      case "history": return this.onHistory(m);
      case "status": return this.onStatus(m);
      case "progress": return this.onProgress(m);
      case "proc": return this.onProc(m);
      case "link": return this.onLink(m);
      case "moved": return this.onMoved(m);
      case "hover": return this.map.hoverDetail(m);
      case "error": return this.showError(m.message);
      default: return undefined; // new message types are allowed; ignore the ones we do not know
    }
  }

  onHello(m) {
    const s = this.state;
    s.session = m.session;
    s.nrPages = m.nr_pages;
    s.role = m.role || "presenter";
    if (typeof m.tick === "number") this.setTick(m.tick);
    if (typeof m.frame_hash === "string") s.helloFrameHash = m.frame_hash;
    if (s.role === "follower") {
      this.setConn("following", "conn-ok");
      $("preset-description").textContent = "Following the presenter's run: they drive it; the lens, " +
        "zoom, hover and /proc panel are yours. Detach to explore this moment on your own.";
      $("follow-bar").hidden = false;
      disableControls();
    }
    this.lenses = makeLenses(m.vocab.lenses);
    this.map.setLenses(this.lenses);
    this.conn.lensNames = m.vocab.lenses.map((l) => l.name);
    this.charts.setVocab(m.vocab);
    this.lensKeys = applyVocab(m.vocab);
    this.map.setZones(m.zones);
    this.joinRoom(m);
    this.hello = m;
    this.applyLinkView();
    if (m.preset) $("preset-select").value = m.preset; // the run's preset, for followers too
    // the policy the run uses now (a link's recorded `set defrag` included), not the scenario's first
    if (typeof m.defrag === "string") $("policy-select").value = m.defrag;
    if (m.scenario && !document.body.dataset.preset && s.role !== "follower") {
      $("preset-description").textContent = `Shared link: ${m.scenario.title || m.scenario.name || ""}`;
    }
    fitDescription();
    $("zoom-end").max = String(m.nr_pages);
    this.onStatus({ playing: m.playing, tps: m.tps, ticks_per_frame: m.ticks_per_frame, share_path: m.share_path });
  }

  onStatus(m) {
    const s = this.state;
    if (typeof m.playing === "boolean") s.playing = m.playing;
    if (!s.playing) this.noteSpeed(s.tick); // paused: no speed is claimed
    if (typeof m.tps === "number") s.tps = m.tps;
    if (typeof m.ticks_per_frame === "number") s.ticksPerFrame = m.ticks_per_frame;
    if (typeof m.tick === "number") this.setTick(m.tick);
    if (typeof m.frame_hash === "string") s.statusFrameHash = m.frame_hash;
    if (typeof m.defrag === "string" && document.activeElement !== $("policy-select")) {
      $("policy-select").value = m.defrag;
    }
    if (m.share_path) { s.sharePath = m.share_path; $("share-text").value = location.origin + m.share_path; }
    const cancelled = s.progress && s.progress.cancelled;
    s.progress = null;
    $("seek-progress").hidden = true;
    $("btn-cancel-seek").hidden = true;
    $("seek-progress-text").textContent = cancelled && typeof m.tick === "number"
      ? `fast-forward cancelled at tick ${m.tick}` : "";
    this.controls.syncStatus(s);
  }

  onHistory(m) {
    this.charts.loadHistory(m);
    if (this.charts.lastMetrics) this.scheduleCharts();
  }

  onProgress(m) {
    this.state.progress = { done: m.done, total: m.total, cancelled: Boolean(m.cancelled) };
    const bar = $("seek-progress");
    bar.hidden = false;
    bar.max = Math.max(1, m.total);
    bar.value = m.done;
    // only the presenter (or everyone, when the server lets followers control) may cancel
    $("btn-cancel-seek").hidden = Boolean(m.cancelled) || this.state.role === "follower";
    $("seek-progress-text").textContent = m.cancelled
      ? "cancelling…" : `${m.done} / ${m.total} ticks (Esc cancels)`;
  }

  /** A presenter's hello names its room: keep the key in this browser, put the room in the address
   *  (a reload or a preset change stays in it), and offer the room as the follow link. */
  joinRoom(m) {
    const s = this.state;
    const params = new URLSearchParams(location.search);
    if (m.room) {
      s.room = m.room.id;
      try { localStorage.setItem(`zonescope.room.${m.room.id}`, m.room.key); } catch { /* no storage */ }
      const url = new URL(location.href);
      url.searchParams.set("room", m.room.id);
      url.searchParams.delete("moved");
      history.replaceState(null, "", url);
    } else if (params.get("room")) {
      s.followRoom = params.get("room");
    }
    const room = s.room || s.followRoom;
    $("follow-text").value = room ? `${location.origin}/?room=${encodeURIComponent(room)}`
      : `${location.origin}/?session=${encodeURIComponent(m.session)}`;
    if (params.has("moved") && s.role === "follower") {
      const preset = params.get("moved");
      $("follow-text-label").textContent = `The presenter started a new run${preset ? ` (${preset})` : ""}: ` +
        "you follow it";
      const url = new URL(location.href);
      url.searchParams.delete("moved");
      history.replaceState(null, "", url);
    }
  }

  /** The presenter started another run in this room: follow it. */
  onMoved(m) {
    const preset = m.preset ? encodeURIComponent(m.preset) : "";
    location.assign(`/?room=${encodeURIComponent(m.room)}&moved=${preset}`);
  }

  /** Zoom the map to pfns [a, b) (the zoom form, a drag on the map, a link's view). */
  setView(a, b) {
    $("zoom-start").value = String(a);
    $("zoom-end").value = String(b);
    this.state.view = [a, b];
    this.send(msg.view(a, b));
  }

  /** A link's view (`?lens=NAME&from=P&to=Q`), applied once after the first hello; what the page
   *  does not know (a lens of another version, a range past this zone) is left out. */
  applyLinkView() {
    if (this.linkViewDone) return;
    this.linkViewDone = true;
    const p = new URLSearchParams(location.search);
    const opening = this.hello && this.hello.view ? this.hello.view : {};
    const lens = p.get("lens") || opening.lens; // a link's own view first, then the scenario's
    if (Number.isInteger(opening.pace) && !p.has("pace")) {
      const sel = $("compact-pace");
      if ([...sel.options].some((o) => o.value === String(opening.pace))) sel.value = String(opening.pace);
    }
    if (lens && Object.hasOwn(this.lenses, lens) && lens !== this.state.lens) {
      $("lens-select").value = lens;
      this.send(msg.lens(lens));
    }
    const a = Number(p.get("from")), b = Number(p.get("to"));
    if (p.has("from") && p.has("to") && Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a < b
        && b <= this.state.nrPages) this.setView(a, b);
  }

  /** The answer to a `link` request (controls.js askLink waits for it). */
  onLink(m) {
    const s = this.state;
    if (m.path && !m.refused) { s.sharePath = m.path; $("share-text").value = location.origin + m.path; }
    const want = s.linkWanted;
    s.linkWanted = null;
    if (want) want(m);
  }

  onProc(m) {
    this.state.proc = { file: m.file, text: m.text, tick: this.state.tick };
    if (m.file === $("proc-select").value) $("proc-text").textContent = m.text;
  }

  onMetrics(m) {
    if (typeof this.state.tick === "number" && m.tick < this.state.tick) this.pruneLog(m.tick);
    this.metrics.set(m.seq, m);
    for (const k of this.metrics.keys()) if (k < m.seq - 8) this.metrics.delete(k);
    if (typeof m.frame_hash === "string" && this.state.seq === m.seq) this.state.frameHash = m.frame_hash;
    this.charts.addMetrics(m);
    this.pressure.update(m);
    this.logEvents(m);
    this.setTick(m.tick);
    this.kick();
  }

  // ---------------------------------------------------------------- rendering
  onFrame(f) {
    // the same frame again in another lens or view (paused, a lens key) keeps its seq: metrics kept
    // for that seq describe the old lens (skip marks, cells) and must not be drawn with it
    const old = this.metrics.get(f.seq);
    if (old && (old.lens !== f.lens || old.first_pfn !== f.firstPfn || old.unit !== f.unit)) {
      this.metrics.delete(f.seq);
    }
    if (this.pending) { // never rendered: count it and give its credit back
      this.state.dropped += 1;
      this.send(msg.ack(this.pending.seq));
    }
    this.pending = f;
    this.kick();
  }

  kick() {
    if (this.rendering || !this.pending) return;
    const f = this.pending;
    let m = this.metrics.get(f.seq);
    if (!m && performance.now() - f.receivedMs < METRICS_WAIT_MS) {
      clearTimeout(this.metricsTimer);
      this.metricsTimer = setTimeout(() => this.kick(), METRICS_WAIT_MS);
      return;
    }
    if (!m) m = this.lastMetricsBefore(f.seq);
    this.pending = null;
    this.rendering = true;
    const t0 = performance.now();
    this.map.render(f, m).then(() => {
      this.state.lastRenderMs = performance.now() - t0;
      this.send(msg.ack(f.seq));
      this.afterRender(f, m);
      this.scheduleCharts();
    }, (err) => {
      this.send(msg.ack(f.seq));
      this.showError(`render: ${err && err.message ? err.message : err}`);
    }).finally(() => {
      this.rendering = false;
      this.kick();
    });
  }

  lastMetricsBefore(seq) {
    let best = null;
    for (const [k, v] of this.metrics) if (k <= seq && (!best || k > best.seq)) best = v;
    return best;
  }

  afterRender(f, m) {
    const s = this.state;
    s.seq = f.seq; s.renderedSeq = f.seq; s.renders += 1;
    s.lens = f.lens; s.unit = f.unit; s.rows = f.rows; s.cols = f.cols; s.firstPfn = f.firstPfn;
    s.cellsHash = fnv1a(f.cells);
    s.frameTick = f.tick;
    s.frameHash = m && m.seq === f.seq && typeof m.frame_hash === "string" ? m.frame_hash : null;
    s.cursors = ((m && m.scanners) || []).map((sc) => ({
      zone: sc.zone, migrate_pfn: sc.migrate_pfn, free_pfn: sc.free_pfn, active: sc.active, sync: sc.sync,
      migrate_cell: pfnToCell(f, sc.migrate_pfn), free_cell: pfnToCell(f, sc.free_pfn),
    }));
    this.setTick(f.tick);
    this.noteSpeed(f.tick);
    const el = $("map");
    el.dataset.tick = String(f.tick);
    el.dataset.seq = String(f.seq);
    el.dataset.lens = f.lens;
    el.dataset.cellsHash = s.cellsHash;
    el.dataset.frameHash = s.frameHash || "";
    const c = s.cursors[0];
    el.dataset.migratePfn = c ? String(c.migrate_pfn) : "";
    el.dataset.freePfn = c ? String(c.free_pfn) : "";
    $("lens-select").value = f.lens;
    const per = f.unit === 1 ? "page" : "pageblock";
    const caption = `${f.rows}×${f.cols} cells, one per ${per}, from pfn 0x${f.firstPfn.toString(16)}`;
    $("map-caption").textContent = caption;
    el.setAttribute("aria-label", `Zone map at tick ${f.tick}, ${f.lens} lens: ${caption}`);
    this.maybeRefreshProc();
  }

  /** Charts follow the map at most every CHART_INTERVAL_MS, after a map render (never delaying one). */
  scheduleCharts() {
    if (this.chartTimer) return;
    const wait = Math.max(16, CHART_INTERVAL_MS - (performance.now() - this.lastChart));
    this.chartTimer = setTimeout(() => {
      this.chartTimer = null;
      if (this.rendering || this.pending) { this.scheduleCharts(); return; }
      this.lastChart = performance.now();
      this.flushLog();
      this.charts.render().catch((err) => this.showError(`chart: ${err && err.message ? err.message : err}`));
    }, wait);
  }

  /** The speed actually achieved while playing (ticks per second over the last ~2 s of frames),
   *  shown beside the speed asked for: a big zone or a slow server may not keep up. */
  noteSpeed(tick) {
    const s = this.state;
    const now = performance.now();
    const w = this.speedWindow;
    if (!s.playing) { w.length = 0; s.achievedTps = null; $("tps-got").textContent = ""; return; }
    if (w.length && tick < w[w.length - 1][1]) w.length = 0; // the run went back: measure afresh
    w.push([now, tick]);
    while (w.length > 2 && now - w[0][0] > 2000) w.shift();
    if (w.length >= 2 && now - w[0][0] >= 500) {
      const tps = ((tick - w[0][1]) * 1000) / (now - w[0][0]);
      s.achievedTps = tps;
      $("tps-got").textContent = `(running at ${tps >= 10 ? Math.round(tps) : tps.toFixed(1)})`;
    }
  }

  setTick(t) {
    this.state.tick = t;
    $("tick").textContent = String(t);
  }

  /** After a seek backwards or a reset: drop the log lines of ticks that no longer happened. */
  pruneLog(tick) {
    this.logQueue = this.logQueue.filter((m) => m.tick <= tick);
    for (const li of [...$("event-log").children]) if (Number(li.dataset.tick) > tick) li.remove();
  }

  logEvents(m) {
    const evs = Array.isArray(m.events) ? m.events : [];
    if (!evs.length && !m.events_dropped) return;
    this.state.events += evs.length + (m.events_dropped || 0);
    this.logQueue.push(m);
    if (this.logQueue.length > 20) {
      // a slow page: fold the oldest two messages into one rather than lose their events
      const a = this.logQueue.shift();
      const b = this.logQueue[0];
      this.logQueue[0] = { ...b, events: [...(a.events || []), ...(b.events || [])],
        events_dropped: (a.events_dropped || 0) + (b.events_dropped || 0) };
    }
  }

  /** Write the queued events into the log (with the charts, a few times a second). */
  flushLog() {
    const queued = this.logQueue;
    this.logQueue = [];
    for (const m of queued) this.writeLog(m);
    if (queued.length) $("events-count").textContent = `${this.state.events} so far`;
  }

  writeLog(m) {
    const evs = Array.isArray(m.events) ? m.events : [];
    const list = $("event-log");
    const frag = document.createDocumentFragment();
    const shown = evs.slice(-40);
    for (const ev of shown) {
      const li = document.createElement("li");
      li.dataset.tick = String(ev.tick);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tick-link";
      b.textContent = `t${ev.tick}`;
      b.setAttribute("aria-label", `Go to tick ${ev.tick}`);
      b.dataset.tick = String(ev.tick);
      const name = document.createElement("code");
      name.textContent = ev.name;
      const text = document.createElement("span");
      text.textContent = ` ${ev.text}`;
      li.append(b, " ", name, text);
      frag.prepend(li);
    }
    const hidden = evs.length - shown.length + (m.events_dropped || 0);
    if (hidden > 0) {
      const li = document.createElement("li");
      li.className = "muted";
      li.dataset.tick = String(m.tick);
      li.textContent = `tick ${m.tick}: ${hidden} more events not listed`;
      frag.append(li);
    }
    list.prepend(frag);
    while (list.children.length > MAX_LOG) list.lastElementChild.remove();
  }

  // ------------------------------------------------------------------ actions
  seek(tick) {
    const t = Math.max(0, Math.floor(tick));
    if (!Number.isFinite(t)) return;
    if (this.send(msg.seek(t))) {
      this.state.progress = { done: 0, total: Math.abs(t - (this.state.tick || 0)) };
      if (t < (this.state.tick || 0)) this.charts.series.truncateFrom(t + 1);
    }
  }

  maybeRefreshProc() {
    if (!$("proc-auto").checked || this.state.tick === this.lastProcTick || this.procTimer) return;
    this.procTimer = setTimeout(() => {
      this.procTimer = null;
      this.lastProcTick = this.state.tick;
      this.send(msg.proc($("proc-select").value));
    }, this.state.playing ? 1000 : 50);
  }

  showError(text) {
    if (!text) return;
    this.state.error = text;
    $("error-text").textContent = text;
    $("error-banner").hidden = false;
  }
}

/** Controls that drive the run: off for followers and on a page that has no run (bad link). */
function disableControls(everything = false) {
  const run = ".controls button, .controls input, #alloc-form button, #policy-form button, #btn-compact, #compact-pace";
  for (const el of document.querySelectorAll(everything ? `${run}, #zoom-form button, #btn-copy` : run)) {
    el.disabled = true;
  }
}

/** The presenter's key of a room, if this browser started it. */
function roomKey(room) {
  try { return localStorage.getItem(`zonescope.room.${room}`); } catch { return null; }
}

/** A detached student's page offers the way back to the presenter's room (or session). */
function offerRejoin() {
  const params = new URLSearchParams(location.search);
  const room = params.get("rejoin_room");
  const id = params.get("rejoin");
  const ok = (v) => v && /^[A-Za-z0-9_-]{1,64}$/.test(v);
  if (!ok(room) && !ok(id)) return;
  const a = $("rejoin");
  a.href = ok(room) ? `/?room=${encodeURIComponent(room)}` : `/?session=${encodeURIComponent(id)}`;
  a.hidden = false;
}

function start() {
  const app = new App();
  window.zonescope = { app, state: app.state, send: (m) => app.send(m) };
  app.controls = bindControls(app);
  offerRejoin();
  if (document.body.dataset.error) {
    app.setConn("not started", "conn-bad");
    disableControls(true);
    return; // the page says why (bad link); nothing to connect to
  }
  app.connect();
}

if (typeof Plotly === "undefined") {
  window.addEventListener("load", start, { once: true });
} else {
  start();
}
