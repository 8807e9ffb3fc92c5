"""`zonescope run`, `proc`, `link`, `presets`: headless runs of the simulation core."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.common import (
    add_scenario_args,
    buddyinfo_json,
    load,
    pageblocks_json,
    print_json,
    run_hashed,
    run_to,
)
from app.presets import preset_document, preset_names
from simcore import KNOWN_PROC_FILES, Simulation, check_invariants, make_token, pressure_json


def register_run(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run", help="run a scenario headless and summarise it",
        description="Run SCENARIO for N ticks and print a summary (or one JSON object with --json).",
    )
    add_scenario_args(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: scenario, seed, ticks, vmstat, "
                   "buddyinfo, pageblocks, events, frame_hash")
    p.add_argument("--check", action="store_true", help="run the invariant checker after every tick (slow)")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    scenario, ticks = load(args)
    sim = Simulation(scenario)
    if args.check:
        _check(sim)
        sim.add_checker(_check)
    frame_hash = run_hashed(sim, ticks)
    events = dict(sorted(sim.node.event_counts.items()))
    if args.json:
        print_json({
            "scenario": sim.scenario.to_dict(),
            "seed": sim.seed,
            "ticks": sim.tick,
            "vmstat": sim.vmstat(),
            "buddyinfo": buddyinfo_json(sim),
            "pageblocks": pageblocks_json(sim),
            "events": events,
            "frame_hash": frame_hash,
            **pressure_json(sim),
        })
        return 0
    node = sim.node
    mib = 4096 / (1 << 20)
    print(f"{scenario.name}: {scenario.title}".rstrip(": "))
    print(f"  seed {sim.seed}, {sim.tick} ticks, mode {scenario.mode}, defrag {scenario.defrag}")
    print(f"  {node.nr_pages} pages ({node.nr_pages * mib:.0f} MiB) in zones "
          + ", ".join(f"{z.name} [{z.start_pfn}, {z.end_pfn})" for z in node.zones))
    print(f"  free {node.free_pages} pages, allocated {node.allocated_pages}; "
          f"{sim.workload.allocs} allocations, {sim.workload.frees} frees, {sim.workload.failures} failures")
    print("  /proc/buddyinfo:")
    for line in sim.proc("buddyinfo").splitlines():
        print("    " + line)
    print("  events: " + (", ".join(f"{k} {v}" for k, v in events.items()) or "none"))
    print(f"  frame_hash {frame_hash}")
    return 0


def _check(sim: Simulation) -> None:
    """The invariant checker of `run --check`."""
    check_invariants(sim.node)


def register_proc(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "proc", help="print a /proc or debugfs file of the simulated machine",
        description="Run SCENARIO for N ticks, then print FILE in the kernel's text format.",
    )
    add_scenario_args(p)
    p.add_argument(
        "file", metavar="FILE", choices=KNOWN_PROC_FILES,
        help="one of: " + ", ".join(KNOWN_PROC_FILES) + " (a subsystem's files when the scenario has it)",
    )
    p.set_defaults(handler=cmd_proc)


def cmd_proc(args: argparse.Namespace) -> int:
    scenario, ticks = load(args)
    sim = Simulation(scenario)
    run_to(sim, ticks)
    print(sim.proc(args.file), end="")
    return 0


def register_link(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "link", help="print a share token and URL path for a scenario",
        description="Print the share-link token for SCENARIO (with --set overrides) "
                    "and its URL path /s/TOKEN.",
    )
    add_scenario_args(p, ticks_help="the tick the link opens at")
    p.set_defaults(handler=cmd_link)


def cmd_link(args: argparse.Namespace) -> int:
    scenario, ticks = load(args)
    token = make_token(scenario, ticks)
    print(token)
    print(f"/s/{token}")
    return 0


def register_presets(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("presets", help="list the preset scenarios",
                                                description="List the presets in scenarios/ with titles.")
    p.set_defaults(handler=cmd_presets)


def cmd_presets(args: argparse.Namespace) -> int:
    for name in preset_names():
        doc = preset_document(name)
        print(f"{name:24} {doc.get('title', '')}")
    return 0
