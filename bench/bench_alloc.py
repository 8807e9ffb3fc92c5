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
    python bench/bench_alloc.py --no-baseline    # skip the in-run baseline

The in-run baseline (bench/plain_buddy.py) is a plain pure-Python buddy allocator with one
migratetype and dict free lists running the same mix on a zone of the same size; its rounds
alternate with zonescope's, and `ratio_to_plain` is zonescope's median events per CPU second over
the baseline's (issue 12's target: >= 6).
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
from plain_buddy import PlainWorkload, timed_round

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


STREAMS = [  # (class, weight, owner, order mix, mean lifetime in ticks): the mix both allocators run
    ("anon", 6, "app", tail_orders(100, 8), 200),
    ("pagecache", 3, "app", tail_orders(100, 4), 600),
    ("slab_unmovable", 1, None, tail_orders(100, 6), 300),
]


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
                {"name": cls.split("_")[0], "class": cls, "weight": w, "orders": orders, "lifetime": life}
                | ({"owner": owner} if owner else {})
                for cls, w, owner, orders, life in STREAMS
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
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the plain pure-Python buddy run (bench/plain_buddy.py) and the ratio to it")
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

    plain = None
    if not args.no_baseline:
        plain = PlainWorkload(args.pages, [(w, orders, life) for _, w, _, orders, life in STREAMS],
                              args.target, args.seed)
        plain.warm_up(args.events)
    rounds = []
    cpu_rounds = []
    plain_cpu_rounds = []
    tot_a = tot_f = tot_x = 0
    for _ in range(args.rounds):
        dt, dc, allocs, frees, fails = run_round(sim, args.ticks)
        ev = allocs + frees + fails
        rounds.append(ev / dt)
        cpu_rounds.append(ev / dc)
        tot_a += allocs
        tot_f += frees
        tot_x += fails
        if plain is not None:  # alternate, so both see the machine's same minutes
            n = args.events * args.ticks
            plain_cpu_rounds.append(n / timed_round(plain, n)[1])
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
        "events_per_cpu_s_median": round(statistics.median(cpu_rounds)),
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
    if plain is not None:
        result["plain_events_per_cpu_s_median"] = round(statistics.median(plain_cpu_rounds))
        result["plain_occupancy"] = round(plain.allocated / args.pages, 4)
        ratio = statistics.median(cpu_rounds) / statistics.median(plain_cpu_rounds)
        result["ratio_to_plain"] = round(ratio, 3)
    if args.frame:
        result.update({k: round(v, 5) for k, v in time_frames(sim, 5).items()})
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
