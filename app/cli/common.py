"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from app.presets import load_scenario
from simcore import (
    MIGRATETYPE_NAMES,
    RunHash,
    Scenario,
    Simulation,
    check_tick,
    check_work,
    decode_link,
    is_link,
)


def add_scenario_args(p: argparse.ArgumentParser, ticks: bool = True,
                      ticks_help: str = "ticks to run") -> None:
    p.add_argument("scenario", metavar="SCENARIO",
                   help="preset name, scenario .toml file, or share link / token")
    if ticks:
        p.add_argument("--ticks", type=int, metavar="N",
                       help=f"{ticks_help} (default: the scenario's `ticks`, or a link's tick)")
    p.add_argument("--seed", type=int, metavar="S", help="override the scenario's seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field by dotted path, e.g. --set workload.target_occupancy=0.9 "
                        "(repeatable; values are TOML literals)")


def load(args: argparse.Namespace) -> tuple[Scenario, int]:
    """The scenario and the tick to run to."""
    link_tick = None
    if is_link(args.scenario):
        # the link's tick holds with --seed / --set too
        scenario, link_tick = decode_link(args.scenario)
    if link_tick is None or args.overrides or args.seed is not None:
        scenario = load_scenario(args.scenario, args.overrides, args.seed)
    ticks = getattr(args, "ticks", None)
    if ticks is None:
        ticks = link_tick if link_tick is not None else scenario.ticks
    check_work(scenario, check_tick(ticks, "--ticks"), field="--ticks")
    return scenario, ticks


class Progress:
    """`tick N / M (P %)` on stderr, rewritten in place at most every PROGRESS_S, once a run has taken
    longer than that, and only when stderr is a terminal (so pipes, files and JSON stay clean)."""

    PROGRESS_S = 0.5

    def __init__(self, start: int, target: int) -> None:
        self.start = start
        self.target = target
        self.on = sys.stderr.isatty() and target > start
        self.t0 = time.monotonic()
        self.last = self.t0
        self.shown = False

    def update(self, tick: int) -> None:
        if not self.on:
            return
        now = time.monotonic()
        if now - self.last < self.PROGRESS_S:
            return
        self.last = now
        pct = 100 * (tick - self.start) // (self.target - self.start)
        sys.stderr.write(f"\rtick {tick} / {self.target} ({pct} %)")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def run_to(sim: Simulation, ticks: int) -> None:
    """`sim.run_until(ticks)`, with progress on a terminal."""
    progress = Progress(sim.tick, ticks)
    while sim.tick < ticks:
        sim.step()
        progress.update(sim.tick)
    progress.done()


def run_hashed(sim: Simulation, ticks: int) -> str:
    """Run to `ticks`, chaining every tick's record (the initial one included) into the run's hash
    (`RunHash`), and end it on the last tick's whole frame. Returns the hex digest."""
    h = RunHash()
    progress = Progress(sim.tick, ticks)
    while sim.tick < ticks:
        h.add(sim.tick_record().digest())
        sim.step()
        progress.update(sim.tick)
    progress.done()
    last = sim.frame()
    h.add(last.record_digest())
    return h.hexdigest(last)


def buddyinfo_json(sim: Simulation) -> list[dict[str, Any]]:
    return [{"zone": z.name, "free": z.nr_free_per_order()} for z in sim.node.zones]


def pageblocks_json(sim: Simulation) -> list[dict[str, Any]]:
    return [{"zone": z.name, **dict(zip(MIGRATETYPE_NAMES, z.block_type_counts(), strict=True))}
            for z in sim.node.zones]


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
