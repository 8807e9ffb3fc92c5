"""`zonescope compact` and `zonescope compare`: manual compaction, and defrag policies side by side."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli.common import add_scenario_args, buddyinfo_json, load, print_json, run_to
from simcore import (
    DEFRAG_POLICIES,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_ORDER,
    Mode,
    Scenario,
    ScenarioError,
    Simulation,
    format_trace,
    validate_scenario,
)


def register_compact(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "compact",
        help="run a scenario, then compact every zone by hand (as /proc/sys/vm/compact_memory)",
        description="Run SCENARIO for N ticks, then a manual whole-zone compaction to completion "
        "(order -1, sync, skip hints ignored). Prints buddyinfo and counters before and after.",
    )
    add_scenario_args(p)
    p.add_argument(
        "--mode", choices=[m.value for m in Mode], help="compaction design (default: the scenario's)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help="one JSON object: before, after (buddyinfo, vmstat), result, zones",
    )
    out.add_argument(
        "--trace", action="store_true", help="the compaction run's trace lines (ftrace text format)"
    )
    p.set_defaults(handler=cmd_compact)


def _with(scenario: Scenario, **update: Any) -> Scenario:
    doc = scenario.to_dict()
    doc.update(update)
    return validate_scenario(doc)


def _state(sim: Simulation) -> dict[str, Any]:
    return {"buddyinfo": buddyinfo_json(sim), "vmstat": sim.vmstat()}


def cmd_compact(args: argparse.Namespace) -> int:
    scenario, ticks = load(args)
    if args.mode:
        scenario = _with(scenario, mode=args.mode)
    sim = Simulation(scenario)
    run_to(sim, ticks)
    before = _state(sim)
    before_text = sim.proc("buddyinfo")
    sim.new_events()
    done = sim.compact_memory()
    events = [ev for ev in sim.new_events() if ev.name != "action"]
    after = _state(sim)
    if args.trace:
        for line in format_trace(events, scenario.tick_ms):
            print(line)
        return 0
    if args.json:
        print_json(
            {
                "scenario": scenario.name,
                "seed": scenario.seed,
                "mode": scenario.mode,
                "ticks": sim.tick,
                "before": before,
                "after": after,
                "result": done.result,
                "zones": [
                    {"zone": z.zone, "result": z.result, "migrated": z.migrated, "failed": z.failed}
                    for z in done.zones
                ],
            }
        )
        return 0
    print(f"{scenario.name}: {sim.tick} ticks, mode {scenario.mode}, seed {scenario.seed}")
    print("  /proc/buddyinfo before:")
    for line in before_text.splitlines():
        print("    " + line)
    print("  echo 1 > /proc/sys/vm/compact_memory: " + done.detail)
    print("  /proc/buddyinfo after:")
    for line in sim.proc("buddyinfo").splitlines():
        print("    " + line)
    keys = [k for k in after["vmstat"] if k.startswith(("compact_", "pgmigrate_"))]
    print("  " + ", ".join(f"{k} {after['vmstat'][k] - before['vmstat'][k]:+d}" for k in keys))
    print(f"  result: {done.result}")
    return 0


def register_compare(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "compare",
        help="run one seed under several defragmentation policies side by side",
        description="Run SCENARIO for N ticks once per policy ("
        + ", ".join(p.label for p in DEFRAG_POLICIES.values())
        + ") on the same seed, and compare high-order allocation success, pages reclaimed and pages "
        "migrated.",
    )
    add_scenario_args(p)
    p.add_argument(
        "--policies",
        default=",".join(DEFRAG_POLICIES),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(DEFRAG_POLICIES)} (default: all)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object with a row per policy")
    p.set_defaults(handler=cmd_compare)


def compare_row(scenario: Scenario, policy: str, ticks: int) -> dict[str, Any]:
    sim = Simulation(_with(scenario, defrag=policy))
    run_to(sim, ticks)
    v = sim.vmstat()
    stats = sim.alloc_stats()
    ok_costly, tried_costly = stats.rate(PAGE_ALLOC_COSTLY_ORDER + 1)
    ok_huge, tried_huge = stats.rate(PAGEBLOCK_ORDER)
    reclaimed = v.get("pgsteal_direct", 0) + v.get("pgsteal_kswapd", 0)
    migrated = v.get("pgmigrate_success", 0) + v.get("compact_pages_moved", 0)
    counters = {k: x for k, x in v.items() if k.startswith("compact_") or k.startswith("pgmigrate_")}
    return {
        "policy": policy,
        "high_order_success": ok_costly,
        "high_order_attempts": tried_costly,
        "high_order_success_pct": round(100.0 * ok_costly / tried_costly, 1) if tried_costly else None,
        "order9_success": ok_huge,
        "order9_attempts": tried_huge,
        "pages_reclaimed": reclaimed,
        "pswpout": v.get("pswpout", 0),
        "pages_migrated": migrated,
        "free_order9_blocks": sum(
            sum(z.nr_free(o) << (o - PAGEBLOCK_ORDER) for o in (9, 10)) for z in sim.node.zones
        ),
        "counters": counters,
    }


def cmd_compare(args: argparse.Namespace) -> int:
    scenario, ticks = load(args)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    bad = [p for p in policies if p not in DEFRAG_POLICIES]
    if bad or not policies:
        got = ", ".join(bad) if bad else "nothing"
        names = ", ".join(DEFRAG_POLICIES)
        raise ScenarioError(f"--policies: unknown defrag policy (got {got}; one of {names})")
    rows = [compare_row(scenario, p, ticks) for p in policies]
    if args.json:
        print_json(
            {
                "scenario": scenario.name,
                "seed": scenario.seed,
                "mode": scenario.mode,
                "ticks": ticks,
                "policies": rows,
            }
        )
        return 0
    print(f"{scenario.name}: seed {scenario.seed}, {ticks} ticks, mode {scenario.mode}")
    cols: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        (
            "high-order ok (order>3)",
            lambda r: (
                f"{r['high_order_success']}/{r['high_order_attempts']}"
                + (f" {r['high_order_success_pct']}%" if r["high_order_success_pct"] is not None else "")
            ),
        ),
        ("order-9 ok", lambda r: f"{r['order9_success']}/{r['order9_attempts']}"),
        ("pages reclaimed", lambda r: str(r["pages_reclaimed"])),
        ("pages migrated", lambda r: str(r["pages_migrated"])),
        ("compact_stall", lambda r: str(r["counters"].get("compact_stall", 0))),
        ("compact_success", lambda r: str(r["counters"].get("compact_success", 0))),
        ("compact_fail", lambda r: str(r["counters"].get("compact_fail", 0))),
        ("compact_daemon_wake", lambda r: str(r["counters"].get("compact_daemon_wake", 0))),
        ("free order-9 blocks", lambda r: str(r["free_order9_blocks"])),
    ]
    width = max(len(name) for name, _ in cols)
    print(f"  {'':{width}}  " + "".join(f"{r['policy']:>18}" for r in rows))
    for name, fmt in cols:
        print(f"  {name:{width}}  " + "".join(f"{fmt(r):>18}" for r in rows))
    return 0
