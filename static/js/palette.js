// Lenses: the meaning of each cell byte, a discrete colour-blind-safe palette (Okabe-Ito, plus viridis
// for ordered scales) and the names the colour bar shows.

const OI = {
  black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
const EMPTY = "#eeeeee";
const VIRIDIS11 = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
  "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];

/** simcore.frame.SKIP_REASONS, used when the server sends none. */
export const DEFAULT_SKIP_REASONS = [
  "",
  "skip bit set (nothing isolated last time)",
  "migratetype not suitable for async compaction",
  "not a MOVABLE block: no free-scanner target",
  "free block of order >= pageblock_order",
  "no movable pages",
  "unmovable page made the block unmigratable",
];

export const MIGRATETYPE_NAMES = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"];
export const MIGRATETYPE_COLORS = [OI.vermillion, OI.blue, OI.green, OI.purple, OI.black];
export const PAGE_KIND_NAMES = ["free", "anon", "pagecache", "slab_reclaimable", "slab_unmovable",
  "pagetable", "kernel", "huge", "lazyfree", "isolated_free", "hole"];

// Each class: [byte values], short name, colour. The display index is the class's position.
function lens(title, classes, describe) {
  const lut = new Float32Array(256).fill(NaN);
  classes.forEach(([bytes], i) => bytes.forEach((b) => { lut[b] = i; }));
  const n = classes.length;
  const colorscale = [];
  classes.forEach(([, , color], i) => {
    colorscale.push([i / n, color], [(i + 1) / n, color]);
  });
  return {
    title, lut, n, colorscale, describe,
    names: classes.map(([, name]) => name),
    colors: classes.map(([, , color]) => color),
    zmin: -0.5, zmax: n - 0.5,
  };
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function freeName(v) {
  if (v === 0) return "no free page";
  if (v >= 200) return "all pages free";
  return `${(v / 2).toFixed(1)}% free`;
}

/** Build the lens table; `skipReasons` are the server's SKIP_REASONS strings. */
export function makeLenses(skipReasons = DEFAULT_SKIP_REASONS) {
  const reason = (v) => (v >= 2 ? skipReasons[v - 1] ?? `reason ${v - 1}` : v === 1 ? "skip bit set" : "no skip bit");
  return {
    migratetype: lens("migratetype", MIGRATETYPE_NAMES.map((name, i) => [[i], name, MIGRATETYPE_COLORS[i]]),
      (v) => MIGRATETYPE_NAMES[v] ?? `${v}`),
    free: lens("free pages", [
      [[0], "0% free", "#3a3a3a"],
      [range(1, 49), "< 25%", VIRIDIS11[1]],
      [range(50, 99), "25-50%", VIRIDIS11[4]],
      [range(100, 149), "50-75%", VIRIDIS11[6]],
      [range(150, 199), "75-99%", VIRIDIS11[8]],
      [[200], "100% free", VIRIDIS11[10]],
    ], freeName),
    largest_order: lens("largest free order", [
      [[0], "none", EMPTY],
      ...VIRIDIS11.map((c, o) => [[o + 1], `order ${o}`, c]),
    ], (v) => (v === 0 ? "no free block" : `largest free block: order ${v - 1}`)),
    mix: lens("mix of mobilities", [
      [[0], "free", EMPTY],
      [[1], "movable", OI.blue],
      [[2], "reclaimable", OI.green],
      [[3], "unmovable", OI.vermillion],
      [[4], "other", OI.black],
      [[10], "mixed, mostly free", "#bdbdbd"],
      [[11], "mixed, mostly movable", OI.sky],
      [[12], "mixed, mostly reclaimable", OI.yellow],
      [[13], "mixed, mostly unmovable", OI.purple],
      [[14], "mixed, other", "#666666"],
    ], (v) => {
      const dom = ["free", "movable", "reclaimable", "unmovable", "other"][v % 10] ?? `${v}`;
      return v >= 10 ? `mostly ${dom}, mixes allocated mobilities` : `mostly ${dom}`;
    }),
    skip: lens("skip bits", [
      [[0], "no skip bit", EMPTY],
      [[1], "skip bit", OI.black],
      [[2], "skip: nothing isolated", OI.orange],
      [[3], "unsuitable type (async)", OI.sky],
      [[4], "not MOVABLE (free scan)", OI.green],
      [[5], "free ≥ pageblock order", OI.yellow],
      [[6], "no movable pages", OI.blue],
      [[7], "unmovable page", OI.vermillion],
    ], reason),
    page_kind: lens("page kind", [
      [[0], "free", EMPTY],
      [[1], "anon", OI.blue],
      [[2], "pagecache", OI.sky],
      [[3], "slab_reclaimable", OI.green],
      [[4], "slab_unmovable", OI.vermillion],
      [[5], "pagetable", OI.orange],
      [[6], "kernel", OI.purple],
      [[7], "huge", "#332288"],
      [[8], "lazyfree", OI.yellow],
      [[9], "isolated_free", OI.black],
      [[10], "hole", "#888888"],
    ], (v) => PAGE_KIND_NAMES[v] ?? `${v}`),
  };
}

export const SERIES_COLORS = {
  free: OI.blue, min: OI.vermillion, low: OI.orange, high: OI.green,
  fragindex: OI.black,
  counters: [OI.blue, OI.orange, OI.green, OI.vermillion, OI.purple, OI.sky],
};
export const EVENT_COLORS = [OI.vermillion, OI.green, OI.purple, OI.orange, OI.sky, OI.black, OI.blue, OI.yellow];
export const CURSOR = { migrate: OI.orange, free: OI.sky };
