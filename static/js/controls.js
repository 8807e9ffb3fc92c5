// Buttons, sliders, forms and keyboard shortcuts: each sends one validated protocol message.

import { msg } from "./protocol.js";

const $ = (id) => document.getElementById(id);

// Sliders are logarithmic: 0..100 -> [lo, hi].
const TPS = { lo: 0.5, hi: 240 };
const TPF = { lo: 1, hi: 1000 };
const fromSlider = (v, r) => r.lo * Math.pow(r.hi / r.lo, v / 100);
const toSlider = (x, r) => Math.round((100 * Math.log(x / r.lo)) / Math.log(r.hi / r.lo));
function roundNice(x) {
  if (x >= 10) return Math.round(x);
  return Math.round(x * 10) / 10;
}

function isTyping(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
  return tag === "INPUT" && !["range", "checkbox", "button", "submit"].includes(target.type);
}

/** The "more" toggle only when the clamped description hides something. */
export function fitDescription() {
  const d = $("preset-description");
  const more = $("btn-more");
  if (!d.classList.contains("clamped")) return;
  more.hidden = !(d.textContent.trim() && d.scrollHeight > d.clientHeight + 2);
}

function fillSelect(el, items, selected = null) {
  const keep = selected ?? el.value;
  el.replaceChildren(...items.map(([value, text]) => {
    const opt = document.createElement("option");
    opt.value = value;
    opt.textContent = text;
    return opt;
  }));
  if (items.some(([value]) => value === keep)) el.value = keep;
}

/** The lens, /proc, policy and allocation-class selects and the lens keys' help, from `hello.vocab`
 * (the server's lists: the page keeps none). Returns the lens keys: key -> lens name. */
export function applyVocab(vocab) {
  fillSelect($("lens-select"), vocab.lenses.map((l) => [l.name, l.key ? `${l.key} ${l.label}` : l.label]));
  fillSelect($("proc-select"), vocab.proc_files.map((f) => [f.name, f.label]));
  fillSelect($("policy-select"), vocab.defrag_policies.map((p) => [p.name, p.label]));
  fillSelect($("alloc-class"), vocab.alloc_classes.map((c) => [c.name, c.label]), vocab.alloc_class_default);
  const keyed = vocab.lenses.filter((l) => l.key);
  if (keyed.length) {
    const first = keyed[0].key, last = keyed[keyed.length - 1].key;
    $("lens-select").setAttribute("aria-label", `Map lens (keys ${first} to ${last})`);
    const kbd = (k) => { const el = document.createElement("kbd"); el.textContent = k; return el; };
    $("help-lens-keys").replaceChildren(kbd(first), " … ", kbd(last));
    $("help-lens-names").textContent = `lens: ${keyed.map((l) => l.label).join(", ")}`;
  }
  return Object.fromEntries(keyed.map((l) => [l.key, l.name]));
}

export function bindControls(app) {
  const s = app.state;
  const send = (m) => app.send(m);
  const help = $("help");
  let speedTimer = null;
  let lastHelpFocus = null;

  const togglePlay = () => send(s.playing ? msg.pause() : msg.play());
  const stepBack = () => { if ((s.tick || 0) > 0) app.seek(s.tick - 1); };
  // a paced run lets the class watch the scanners travel (the pace is recorded with the action)
  const compact = () => send(msg.action({ type: "compact", pace: Number($("compact-pace").value) || 0 }));
  const setLens = (lens) => { $("lens-select").value = lens; send(msg.lens(lens)); };

  function toggleHelp(show = help.hidden) {
    help.hidden = !show;
    if (show) { lastHelpFocus = document.activeElement; $("help-close").focus(); }
    else if (lastHelpFocus && lastHelpFocus.focus) lastHelpFocus.focus();
  }

  function readSpeed() {
    const tps = roundNice(fromSlider(Number($("tps").value), TPS));
    const tpf = Math.max(1, Math.round(fromSlider(Number($("tpf").value), TPF)));
    $("tps-out").value = String(tps);
    $("tpf-out").value = String(tpf);
    return { tps, tpf };
  }
  function sendSpeed() {
    clearTimeout(speedTimer);
    speedTimer = setTimeout(() => { const v = readSpeed(); send(msg.speed(v.tps, v.tpf)); }, 150);
  }

  $("btn-play").addEventListener("click", togglePlay);
  $("btn-step").addEventListener("click", () => send(msg.step("tick")));
  $("btn-step-compact").addEventListener("click", () => send(msg.step("compaction")));
  $("btn-back").addEventListener("click", stepBack);
  $("btn-reset").addEventListener("click", () => { app.charts.reset(); send(msg.reset()); });
  $("btn-compact").addEventListener("click", compact);
  for (const id of ["tps", "tpf"]) $(id).addEventListener("input", () => { readSpeed(); sendSpeed(); });

  $("seek-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("seek-tick").value;
    if (v !== "") app.seek(Number(v));
  });
  $("lens-select").addEventListener("change", (ev) => setLens(ev.target.value));
  $("zoom-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const a = Number($("zoom-start").value), b = Number($("zoom-end").value);
    if (Number.isFinite(a) && Number.isFinite(b) && b > a) app.setView(a, b);
    else app.showError("zoom: the end pfn must be larger than the start pfn");
  });
  $("zoom-reset").addEventListener("click", () => app.setView(0, s.nrPages || 1));
  app.map.onZoomRows = (a, b) => app.setView(a, b);

  $("alloc-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    send(msg.action({ type: "alloc", order: Number($("alloc-order").value),
      count: Number($("alloc-count").value), class: $("alloc-class").value }));
  });
  $("policy-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    send(msg.action({ type: "set", key: "defrag", value: $("policy-select").value }));
  });

  $("proc-select").addEventListener("change", () => { $("proc-text").textContent = ""; send(msg.proc($("proc-select").value)); });
  $("proc-auto").addEventListener("change", () => app.maybeRefreshProc());

  const preset = $("preset-select");
  const describe = () => {
    const opt = preset.selectedOptions[0];
    if (opt && opt.dataset.description) $("preset-description").textContent = opt.dataset.description;
    fitDescription();
  };
  preset.addEventListener("change", () => {
    describe();
    if (!preset.value) return;
    const room = app.state.room ? `&room=${encodeURIComponent(app.state.room)}` : "";
    location.assign(`/?preset=${encodeURIComponent(preset.value)}${room}`); // the room's followers move too
  });

  bindSharing(app);
  $("btn-more").addEventListener("click", () => {
    const d = $("preset-description");
    const open = d.classList.toggle("clamped") === false;
    $("btn-more").textContent = open ? "less" : "more";
    $("btn-more").setAttribute("aria-expanded", String(open));
  });
  $("help-button").addEventListener("click", () => toggleHelp());
  $("help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("click", (ev) => { if (ev.target === help) toggleHelp(false); });
  $("error-close").addEventListener("click", () => { $("error-banner").hidden = true; });
  $("event-log").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.tick-link");
    if (b) app.seek(Number(b.dataset.tick));
  });

  bindKeys(app, { help, toggleHelp, togglePlay, stepBack, compact, setLens });

  readSpeed();
  describe();

  return { syncStatus };
}

/** The play button and speed sliders after a `status` (or `hello`). */
function syncStatus(state) {
  const play = $("btn-play");
  play.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
  play.setAttribute("aria-pressed", state.playing ? "true" : "false");
  document.body.classList.toggle("playing", !!state.playing);
  const dragging = document.activeElement && ["tps", "tpf"].includes(document.activeElement.id);
  if (typeof state.tps === "number" && state.tps > 0 && !dragging) {
    $("tps").value = String(toSlider(state.tps, TPS));
    $("tps-out").value = String(roundNice(state.tps));
  }
  if (typeof state.ticksPerFrame === "number" && state.ticksPerFrame > 0 && !dragging) {
    $("tpf").value = String(toSlider(state.ticksPerFrame, TPF));
    $("tpf-out").value = String(state.ticksPerFrame);
  }
}

/** The view a copied link carries (the lens, and the zoom when zoomed in), as a query string: the
 *  page that opens it applies them; older links without them open on the whole zone. */
function viewQuery(s) {
  const q = new URLSearchParams();
  if (s.lens) q.set("lens", s.lens);
  if (s.view && (s.view[0] > 0 || s.view[1] < s.nrPages)) { q.set("from", s.view[0]); q.set("to", s.view[1]); }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** Ask the server for the share link of the tick on screen (`link` message): resolves with its
 *  answer ({path, tick, refused}), or null when none comes within 5 s. */
function askLink(app) {
  return new Promise((resolve) => {
    const s = app.state;
    if (s.linkWanted) s.linkWanted(null);
    s.linkWanted = resolve;
    app.send({ type: "link" });
    setTimeout(() => { if (s.linkWanted === resolve) { s.linkWanted = null; resolve(null); } }, 5000);
  });
}

/** Copy the share link, detach from a followed session, save the charts' series as CSV. A link is
 *  always the current tick's, and one this server would refuse is never handed out: the refusal
 *  (in words: how long it would take, what the server allows) is shown instead. */
function bindSharing(app) {
  const s = app.state;
  $("btn-copy").addEventListener("click", async () => {
    $("copy-status").textContent = "…";
    const m = await askLink(app);
    if (!m) { $("copy-status").textContent = "no answer from the server"; return; }
    if (m.refused) { $("copy-status").textContent = m.refused; return; }
    const text = location.origin + m.path + viewQuery(s);
    const box = $("share-text");
    box.value = text;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); ok = true; }
    } catch { ok = false; }
    if (!ok) { box.focus(); box.select(); ok = document.execCommand && document.execCommand("copy"); }
    s.copiedLink = text;
    $("copy-status").textContent = ok ? `copied (tick ${m.tick})` : "select the text and copy it";
  });

  $("btn-cancel-seek").addEventListener("click", () => app.send({ type: "cancel" }));

  $("btn-detach").addEventListener("click", async () => {
    if (!s.session) return;
    const m = await askLink(app);
    if (!m) { app.showError("detach: no answer from the server"); return; }
    if (m.refused) { app.showError(m.refused); return; }
    const back = s.followRoom ? `rejoin_room=${encodeURIComponent(s.followRoom)}`
      : `rejoin=${encodeURIComponent(s.session)}`;
    const view = viewQuery(s); // the student's own lens and zoom come along
    location.assign(`${m.path}${view ? `${view}&` : "?"}${back}`);
  });
  $("btn-csv").addEventListener("click", () => {
    const blob = new Blob([app.charts.series.toCsv(app.charts.zoneName())], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `zonescope-${s.session || "run"}-t${s.tick ?? 0}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
}

/** The keyboard shortcuts (the help dialog lists them; lens keys come from hello.vocab). */
function bindKeys(app, act) {
  const s = app.state;
  const send = (m) => app.send(m);
  const { help, toggleHelp, togglePlay, stepBack, compact, setLens } = act;
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape" && !help.hidden) { toggleHelp(false); ev.preventDefault(); return; }
    if (ev.key === "Escape" && s.progress && !s.progress.cancelled) {
      send({ type: "cancel" }); ev.preventDefault(); return;
    }
    if (isTyping(ev.target)) return;
    // a focused speed slider keeps its arrow keys (keyboard users set the speed with them)
    if (ev.target.type === "range" && ev.key.startsWith("Arrow")) return;
    if (ev.key === "?") { toggleHelp(); ev.preventDefault(); return; }
    if (!help.hidden) return;
    const follower = s.role === "follower";
    if (follower && (ev.key === " " || ["ArrowRight", "ArrowLeft", "c", "C"].includes(ev.key))) {
      app.showError("following: only the presenter controls this run (Detach to explore on your own)");
      ev.preventDefault();
      return;
    }
    let handled = true;
    if (ev.key === " " || ev.code === "Space") { if (!ev.repeat) togglePlay(); }
    else if (ev.key === "ArrowRight") send(msg.step("tick"));
    else if (ev.key === "ArrowLeft") { if (!ev.repeat) stepBack(); } // each one replays from a keyframe
    else if (ev.key === "c" || ev.key === "C") { if (!ev.repeat) compact(); }
    else if (Object.hasOwn(app.lensKeys, ev.key)) setLens(app.lensKeys[ev.key]);
    else handled = false;
    if (handled) ev.preventDefault();
  });
  // a focused button must not also "click" on the space key's keyup
  document.addEventListener("keyup", (ev) => {
    if ((ev.key === " " || ev.code === "Space") && !isTyping(ev.target) && help.hidden) ev.preventDefault();
  });
}
