"""Encode time and bytes per frame by zone size: Frame -> v1 binary message (every lens) + metrics JSON.

Run: python bench/bench_encode.py [--repeat N]

For each node size, the default workload mix runs until about 75% of the node is in use (movable and
unmovable allocations interleaved as in a real run); then for every lens the encoder builds the cells
over the whole node (one cell per pageblock; per page when the node has at most 128 k pages) and over
the top 128 k pages (one cell per page; the allocator fills a zone from its top end). Reported:
Simulation.frame() time, encode time per message (cells + header + zlib), bytes on the wire, and the
metrics JSON size and time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from app.encoder import View, encode_cells, events_part, frame_info, lens_cells, metrics_body, metrics_json
from app.lenses import LENS_NAMES
from simcore.frame import Frame
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

SIZES = [("256 MiB", 65536), ("1 GiB", 262144), ("4 GiB", 1 << 20), ("16 GiB", 1 << 22)]
PER_PAGE = 131072


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def build(pages: int) -> Simulation:
    """The default workload mix (anon, page cache, slab) run until about 75% of the node is in use."""
    sim = Simulation(validate_scenario({
        "name": "bench", "seed": 1, "node": {"zones": [{"name": "Normal", "pages": pages}]},
        "workload": {"events_per_tick": pages // 40, "target_occupancy": 0.75},
    }))
    sim.run_until(40)
    return sim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    print("| node | cells/frame | frame() ms | lens | encode ms | bytes | deflated |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, pages in SIZES:
        sim = build(pages)
        frame = sim.frame()
        frame_ms = timed(sim.frame, max(3, args.repeat // 3))
        top = View(max(0, pages - PER_PAGE), pages)  # the busy end: allocations fill zones from the top
        for view_label, view in (("whole node", View(0, pages)), ("top 128 k pages", top)):
            for lens in LENS_NAMES:
                def enc(lens: str = lens, view: View = view, frame: Frame = frame) -> bytes:
                    return encode_cells(lens_cells(frame, lens, view, PER_PAGE), 1, frame.tick, lens, 0.0)

                msg = enc()
                ms = timed(enc, args.repeat)
                cells = lens_cells(frame, lens, view, PER_PAGE)
                unit = "page" if cells.unit else "pageblock"
                print(f"| {label} | {view_label}: {cells.rows}x{cells.cols} per {unit} | {frame_ms:.1f} | "
                      f"{lens} | "
                      f"{ms:.2f} | {len(msg)} | {'yes' if msg[3] & 1 else 'no'} |")
        body = metrics_body(frame)
        info = frame_info("", lens_cells(frame, "migratetype", View(0, pages), PER_PAGE), "migratetype", None)
        text = metrics_json(body, 1, info, events_part([]))
        mj = timed(lambda f=frame, i=info: metrics_json(metrics_body(f), 1, i, events_part([])), args.repeat)
        print(f"| {label} | metrics JSON | | | {mj:.2f} | {len(text)} | no |")


if __name__ == "__main__":
    main()
