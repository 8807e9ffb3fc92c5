// Colours, keyed by NAME: a colour-blind-safe palette (Okabe-Ito, plus viridis for ordered scales).
// What the names are (lenses, their classes and cell values, migratetypes, page kinds, skip reasons)
// comes from the server in `hello` (app/lenses.py, app/vocab.py); this file only colours them.

const OI = {
  black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
const EMPTY = "#eeeeee";
const VIRIDIS11 = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
  "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];
/** A class the palette has no colour for: loud, so a missing entry is seen (and a test fails). */
export const MISSING_COLOR = "#ff00ff";

export const MIGRATETYPE_COLORS = {
  Unmovable: OI.vermillion, Movable: OI.blue, Reclaimable: OI.green, HighAtomic: OI.purple, Isolate: OI.black,
};

const PAGE_KIND_COLORS = {
  free: EMPTY, anon: OI.blue, pagecache: OI.sky, slab_reclaimable: OI.green, slab_unmovable: OI.vermillion,
  pagetable: OI.orange, kernel: OI.purple, huge: "#332288", lazyfree: OI.yellow, isolated_free: OI.black,
  hole: "#888888",
};

/** simcore.frame.SkipReason names, plus the lens's own "none" and "skip_bit" classes. */
const SKIP_COLORS = {
  none: EMPTY, skip_bit: OI.black, SKIP_HINT: OI.orange, ASYNC_TYPE: OI.sky, NOT_TARGET: OI.green,
  FREE_BLOCK: OI.yellow, NO_MOVABLE: OI.blue, UNMOVABLE: OI.vermillion, PERSISTENT: "#332288",
};

/** Per lens name: the colour of each class key. */
export const LENS_COLORS = {
  migratetype: MIGRATETYPE_COLORS,
  free: { none: "#3a3a3a", under25: VIRIDIS11[1], to50: VIRIDIS11[4], to75: VIRIDIS11[6], to99: VIRIDIS11[8],
    all: VIRIDIS11[10] },
  largest_order: { none: EMPTY, ...Object.fromEntries(VIRIDIS11.map((c, o) => [`order${o}`, c])) },
  mix: {
    free: EMPTY, movable: OI.blue, reclaimable: OI.green, unmovable: OI.vermillion, other: OI.black,
    mixed_free: "#bdbdbd", mixed_movable: OI.sky, mixed_reclaimable: OI.yellow, mixed_unmovable: OI.purple,
    mixed_other: "#666666",
  },
  skip: SKIP_COLORS,
  page_kind: PAGE_KIND_COLORS,
};

/** Tooltip text of a cell value where the class label is too coarse. */
const DESCRIBE = {
  free: (v) => (v === 0 ? "no free page" : v >= 200 ? "all pages free" : `${(v / 2).toFixed(1)}% free`),
};

export function classColor(lensName, key) {
  return (LENS_COLORS[lensName] || {})[key] ?? MISSING_COLOR;
}

/** One lens from its `hello` description ({name, label, key, classes: [{key, label, lo, hi}]}):
 * a lookup table from cell value to class index (NaN = no class), and the colour scale. */
function lens(info) {
  const classes = info.classes;
  const lut = new Float32Array(256).fill(NaN);
  classes.forEach((c, i) => { for (let v = c.lo; v <= c.hi; v++) lut[v] = i; });
  const n = classes.length;
  const colors = classes.map((c) => classColor(info.name, c.key));
  const colorscale = [];
  colors.forEach((color, i) => colorscale.push([i / n, color], [(i + 1) / n, color]));
  const describe = DESCRIBE[info.name] ||
    ((v) => (Number.isNaN(lut[v]) ? `${v}` : classes[lut[v]].label));
  return {
    title: info.label, key: info.key, lut, n, colorscale, describe, colors,
    names: classes.map((c) => c.label),
    zmin: -0.5, zmax: n - 0.5,
  };
}

/** The lens table, by lens name, from `hello.vocab.lenses`. */
export function makeLenses(lensInfos) {
  return Object.fromEntries(lensInfos.map((info) => [info.name, lens(info)]));
}

/** Class keys of `lensInfos` that this palette has no colour for, as "lens:key". */
export function missingColors(lensInfos) {
  return lensInfos.flatMap((info) => info.classes
    .filter((c) => classColor(info.name, c.key) === MISSING_COLOR).map((c) => `${info.name}:${c.key}`));
}

export const SERIES_COLORS = {
  free: OI.blue, min: OI.vermillion, low: OI.orange, high: OI.green,
  fragindex: OI.black,
};
/** The compaction chart's counters (hello.vocab.chart_counters), by name. */
const COUNTER_COLORS = {
  compact_migrate_scanned: OI.blue, compact_free_scanned: OI.orange, compact_isolated: OI.green,
  compact_stall: OI.vermillion, compact_success: OI.purple, pgmigrate_success: OI.sky,
};
export function counterColor(name) { return COUNTER_COLORS[name] ?? MISSING_COLOR; }
export const EVENT_COLORS = [OI.vermillion, OI.green, OI.purple, OI.orange, OI.sky, OI.black, OI.blue, OI.yellow];
export const CURSOR = { migrate: OI.orange, free: OI.sky };
