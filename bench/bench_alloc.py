"""Benchmark: mixed order-0..10 allocation/free events per second on a 4 GiB zone (issue 2).

One Normal zone of 1,048,576 pages (4 GiB). Three streams (anonymous memory, page cache, kernel
slab) allocate orders 0..10: mostly order 0, then a geometric tail in which every order >= 1
carries the same number of pages. The workload generator first fills the zone to its target
occupancy (warm-up, not timed), then runs ticks of `--events` events each; a round is `--ticks`
ticks, timed with `time.perf_counter()`; the best of `--rounds` rounds is reported, with the median
and the best rate per CPU second of the process (`time.process_time()`), which other load on a
shared machine disturbs less.

Only the allocator is measured: `Workload.run_tick()` (the generator's draws, `alloc_pages()` with
its watermark checks, `__rmqueue` with fallbacks and extfrag events, `free_alloc()` with buddy
merging). By default the slow path has no reclaim and no compaction (the node's bare
`SlowpathHooks`), so that another subsystem's cost does not hide the allocator's;
`--subsystems` keeps whatever `simcore.subsystems` installs for the scenario instead.

    python bench/bench_alloc.py                  # JSON result on stdout
    python bench/bench_alloc.py --profile 40     # cProfile of one round: the top 40 functions
    python bench/bench_alloc.py --frame          # also time Simulation.frame() and its digest
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import platform
import pstats
import statistics
import sys
import time
from typing import Any

import numpy as np

from simcore.page_alloc import SlowpathHooks
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

ZONE_PAGES = 1 << 20  # 4 GiB of 4 KiB pages


def tail_orders(order0: float, first: float) -> dict[int, float]:
    """Order weights: `order0` for order 0, then `first / 2**(k-1)` for order k = 1..10.

    Each order >= 1 then carries the same expected number of pages (`2 * first`).
    """
    weights = {0: order0}
    for k in range(1, 11):
        weights[k] = first / (1 << (k - 1))
    return weights


def scenario_doc(events: int, target: float, seed: int, mode: str, pages: int = ZONE_PAGES) -> dict[str, Any]:
    return {
        "name": "bench-alloc",
        "seed": seed,
        "mode": mode,
        "defrag": "none",
        "node": {"zones": [{"name": "Normal", "pages": pages}]},
        "workload": {
            "events_per_tick": events,
            "target_occupancy": target,
            "streams": [
                {"name": "anon", "class": "anon", "weight": 6, "owner": "app",
                 "orders": tail_orders(100, 8), "lifetime": 200},
                {"name": "pagecache", "class": "pagecache", "weight": 3, "owner": "app",
                 "orders": tail_orders(100, 4), "lifetime": 600},
                {"name": "slab", "class": "slab_unmovable", "weight": 1,
                 "orders": tail_orders(100, 6), "lifetime": 300},
            ],
        },
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build(args: argparse.Namespace) -> Simulation:
    doc = scenario_doc(args.events, args.target, args.seed, args.mode, args.pages)
    sim = Simulation(validate_scenario(doc))
    if not args.subsystems:
        sim.node.hooks = SlowpathHooks()
        sim.subsystems = []
    return sim


def warm_up(sim: Simulation, target: float) -> int:
    """Run ticks until occupancy is within 1 % of the target (the generator's controller settles)."""
    node = sim.node
    ticks = 0
    while node.allocated_pages / node.managed_pages < target - 0.01 and ticks < 10_000:
        sim.workload.run_tick()
        ticks += 1
    # a few more ticks so that frees and allocations are in balance
    for _ in range(5):
        sim.workload.run_tick()
        ticks += 1
    return ticks


def counts(sim: Simulation) -> tuple[int, int, int]:
    w = sim.workload
    return w.allocs, w.frees, w.failures


def run_round(sim: Simulation, ticks: int) -> tuple[float, float, int, int, int]:
    """Time `ticks` workload ticks. Returns (wall seconds, CPU seconds, allocs, frees, failures)."""
    a0, f0, x0 = counts(sim)
    run_tick = sim.workload.run_tick
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(ticks):
        run_tick()
    dt = time.perf_counter() - t0
    dc = time.process_time() - c0
    a1, f1, x1 = counts(sim)
    return dt, dc, a1 - a0, f1 - f0, x1 - x0


def time_frames(sim: Simulation, n: int) -> dict[str, float]:
    """Seconds per `Simulation.frame()` and per `Frame.digest()` (best of n)."""
    build_t: list[float] = []
    digest_t: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        fr = sim.frame()
        t1 = time.perf_counter()
        fr.digest()
        t2 = time.perf_counter()
        build_t.append(t1 - t0)
        digest_t.append(t2 - t1)
    return {"frame_s": min(build_t), "digest_s": min(digest_t)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000, help="events per tick (default 100000)")
    p.add_argument("--ticks", type=int, default=2, help="ticks per timed round (default 2)")
    p.add_argument("--rounds", type=int, default=10, help="timed rounds; the best is reported (default 10)")
    p.add_argument("--target", type=float, default=0.8, help="target occupancy (default 0.8)")
    p.add_argument("--pages", type=int, default=ZONE_PAGES,
                   help=f"zone size in 4 KiB pages, a multiple of 512 (default {ZONE_PAGES}: 4 GiB)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", choices=["modern", "2.6.35"], default="modern")
    p.add_argument("--subsystems", action="store_true",
                   help="keep the installed subsystems (reclaim, compaction...) in the slow path")
    p.add_argument("--profile", type=int, metavar="N", default=0,
                   help="profile one round with cProfile and print the top N functions (by own time)")
    p.add_argument("--frame", action="store_true", help="also time frame building and hashing")
    p.add_argument("--gc", choices=["on", "freeze", "off"], default="on",
                   help="the cyclic garbage collector while timing: on (default), frozen after the "
                        "warm-up (gc.freeze(): the warm state is never traversed again), or off")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    sim = build(args)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm_ticks = warm_up(sim, args.target)
    warm_s = time.perf_counter() - t0
    node = sim.node
    if args.gc == "freeze":
        gc.collect()
        gc.freeze()
    elif args.gc == "off":
        gc.disable()

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        dt, _, allocs, frees, fails = run_round(sim, args.ticks)
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
        ev = allocs + frees + fails
        print(f"profiled round: {ev} events in {dt:.3f} s ({ev / dt:,.0f} events/s under cProfile)")
        return 0

    rounds = []
    cpu_rounds = []
    tot_a = tot_f = tot_x = 0
    for _ in range(args.rounds):
        dt, dc, allocs, frees, fails = run_round(sim, args.ticks)
        ev = allocs + frees + fails
        rounds.append(ev / dt)
        cpu_rounds.append(ev / dc)
        tot_a += allocs
        tot_f += frees
        tot_x += fails
    result: dict[str, Any] = {
        "benchmark": "alloc_events",
        "zone_pages": args.pages,
        "events_per_tick": args.events,
        "ticks_per_round": args.ticks,
        "rounds": args.rounds,
        "events_per_s": round(max(rounds)),
        "events_per_s_median": round(statistics.median(rounds)),
        # per CPU second of this process: less disturbed by other load on a shared machine
        "events_per_cpu_s": round(max(cpu_rounds)),
        "allocs": tot_a,
        "frees": tot_f,
        "failures": tot_x,
        "occupancy": round(node.allocated_pages / node.managed_pages, 4),
        "extfrag_events": node.event_counts.get("mm_page_alloc_extfrag", 0),
        "warmup_ticks": warm_ticks,
        "warmup_s": round(warm_s, 3),
        "build_s": round(build_s, 3),
        "mode": args.mode,
        "subsystems": args.subsystems,
        "gc": args.gc,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "cpu": cpu_model(),
        "machine": platform.machine(),
    }
    if args.frame:
        result.update({k: round(v, 5) for k, v in time_frames(sim, 5).items()})
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
