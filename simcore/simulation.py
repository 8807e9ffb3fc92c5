"""The simulation: a scenario, a seeded generator, a node, a workload, a clock in ticks.

`step()` advances one tick: the workload's events, then every subsystem's `on_tick()` (daemons such
as kswapd and kcompactd, compaction runs in progress, notifications), then the timeline actions
scheduled at the new tick, then the checkers (`add_checker`). `apply(action)` performs an action now
and records it in the scenario's timeline, so that `scenario` + seed + tick rebuilds any state by
replay (share links). Time is only counted here; pacing in real time belongs to the app.

The CLI and the app come in through this class and the names `simcore` exports: `compact_memory()`,
`alloc_stats()`, `proc()`, `add_checker()`, `frame()`, `snapshot()`, `share_token()`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simcore.actions import (
    Action,
    AllocAction,
    CompactAction,
    FillAction,
    FreeEveryOtherAction,
    FreeGroupAction,
    SetAction,
    needs_pressure,
)
from simcore.compaction.install import ManualCompaction
from simcore.compaction.install import find as find_compaction
from simcore.constants import CLASS_BY_NAME, MigrateType
from simcore.events import ActionApplied, Event
from simcore.fragmentation import fill_contig_page_info, fragmentation_index
from simcore.frame import Frame, ScannerFrame, TickRecord, ZoneFrame, pageblock_lenses
from simcore.host import ProcRenderer, Subsystem
from simcore.link import make_token
from simcore.node import Node
from simcore.page_alloc import AllocStats
from simcore.pressure.summary import pressure_frame_of
from simcore.procfs import PROC_FILES, RENDERERS
from simcore.scenario import Scenario, ScenarioError, VmSpec, validate_scenario
from simcore.subsystems import SUBSYSTEM_PROC_FILES
from simcore.subsystems import install as install_subsystems
from simcore.tasks import SHELL
from simcore.vmstat import node_vmstat
from simcore.workload import Uniforms, Workload


class Simulation:
    def __init__(self, scenario: Scenario) -> None:
        #: the effective settings now (`set` actions change them)
        self.scenario = scenario
        #: the scenario as given plus every live action recorded in its timeline: what a link holds
        self.recorded = scenario
        self.seed = scenario.seed
        self.rng = np.random.default_rng(np.random.SeedSequence(scenario.seed))
        self.uniforms = Uniforms(self.rng)
        self.node = Node(scenario.node, scenario.vm, self.rng)
        self.node.mode = scenario.mode
        self.workload = Workload(self.node, scenario.workload, self.uniforms)
        self.tick = 0
        self.subsystems: list[Subsystem] = []
        self.scanners: Callable[[], tuple[ScannerFrame, ...]] = tuple
        self.skip_reason = np.zeros(self.node.nr_pages >> 9, dtype=np.uint8)
        self.proc_files: dict[str, ProcRenderer] = {}
        self.checkers: list[Callable[[Simulation], None]] = []
        self._frame_event_start = 0
        self.handlers: dict[str, Callable[[Action], str]] = {
            "fill": self._do_fill,  # type: ignore[dict-item]
            "free_every_other": self._do_free_every_other,  # type: ignore[dict-item]
            "free_group": self._do_free_group,  # type: ignore[dict-item]
            "alloc": self._do_alloc,  # type: ignore[dict-item]
            "set": self._do_set,  # type: ignore[dict-item]
        }
        self._install_subsystems()
        self._timeline_pos = 0
        self._timeline = sorted(enumerate(scenario.timeline), key=lambda e: (e[1].at, e[0]))
        self._run_timeline()

    def _install_subsystems(self) -> None:
        """Hook the optional kernel subsystems in; each module owns its own wiring."""
        install_subsystems(self)

    # ------------------------------------------------------------- the clock
    def step(self) -> None:
        self.tick += 1
        self.node.tick = self.tick
        self.workload.run_tick()
        for sub in self.subsystems:
            sub.on_tick()
        self._run_timeline()
        for check in self.checkers:
            check(self)

    def run_until(self, tick: int) -> None:
        while self.tick < tick:
            self.step()

    def _run_timeline(self) -> None:
        tl = self._timeline
        while self._timeline_pos < len(tl) and tl[self._timeline_pos][1].at <= self.tick:
            entry = tl[self._timeline_pos][1]
            self._timeline_pos += 1
            if entry.at == self.tick:
                self._perform(entry.action)

    # --------------------------------------------------------------- actions
    def apply(self, action: Action) -> str:
        """Perform a live action now and record it (so links replay it). Returns a summary.

        A rejected action (ScenarioError) changes nothing and is not recorded.
        """
        recorded = self.recorded.with_action(self.tick, action)  # raises if the timeline is full
        detail = self._perform(action)
        self.recorded = recorded
        # keep the replay cursor past it: it has been performed
        self._timeline.insert(self._timeline_pos, (len(recorded.timeline) - 1, recorded.timeline[-1]))
        self._timeline_pos += 1
        return detail

    def _perform(self, action: Action) -> str:
        handler = self.handlers.get(action.type)
        if handler is None:  # a live action for a subsystem this scenario does not install
            raise ScenarioError(
                f"action: {action.type!r} acts on a subsystem this scenario does not install"
                + (" (set [pressure] enabled = true)" if needs_pressure(action.type) else "")
            )
        with self.node.running(SHELL):  # the root shell writes the knob (simcore.tasks)
            detail = handler(action)
            self.node.emit(ActionApplied(self.tick, action.type, detail))
        return detail

    def _do_fill(self, a: FillAction) -> str:
        node = self.node
        kind = CLASS_BY_NAME[a.alloc_class]
        owner = node.process(a.owner)
        st = node.stream(owner, a.group, kind)
        want = int(node.free_pages * a.fraction)
        done = 0
        while done + (1 << a.order) <= want:
            if node.alloc_pages(a.order, kind, st.sid) < 0:
                break
            done += 1 << a.order
        return f"{a.group}: {done} pages in order-{a.order} {a.alloc_class} chunks"

    def _group_streams(self, group: str) -> list[int]:
        return [s.sid for s in self.node.streams if s.name == group]

    def _do_free_every_other(self, a: FreeEveryOtherAction) -> str:
        node = self.node
        pfns = sorted(p for sid in self._group_streams(a.group) for p in node.streams[sid].pfns)
        freed = sum(node.free_alloc(p) for p in pfns[::2])
        return f"{a.group}: freed {len(pfns[::2])} of {len(pfns)} allocations ({freed} pages)"

    def _do_free_group(self, a: FreeGroupAction) -> str:
        node = self.node
        pfns = [p for sid in self._group_streams(a.group) for p in node.streams[sid].pfns]
        freed = sum(node.free_alloc(p) for p in pfns)
        return f"{a.group}: freed {len(pfns)} allocations ({freed} pages)"

    def _do_alloc(self, a: AllocAction) -> str:
        node = self.node
        kind = CLASS_BY_NAME[a.alloc_class]
        st = node.stream(node.process(a.owner), a.group, kind)
        ok = sum(1 for _ in range(a.count) if node.alloc_pages(a.order, kind, st.sid) >= 0)
        return f"order-{a.order} {a.alloc_class}: {ok} of {a.count} succeeded"

    def _do_set(self, a: SetAction) -> str:
        doc = self.scenario.to_dict()
        section, _, key = a.key.rpartition(".")
        target = doc[section] if section else doc
        target[key] = a.value
        try:
            new = validate_scenario(doc)
        except ScenarioError as err:
            raise ScenarioError(f"set {a.key}: {err}") from None
        self.scenario = self.scenario.model_copy(
            update={"defrag": new.defrag, "mode": new.mode, "vm": new.vm, "workload": new.workload}
        )
        self._apply_settings(new.vm)
        return f"{a.key} = {a.value}"

    def _apply_settings(self, vm: VmSpec) -> None:
        self.node.apply_vm(vm)
        self.node.mode = self.scenario.mode
        self.workload.events_per_tick = self.scenario.workload.events_per_tick
        self.workload.target = self.scenario.workload.target_occupancy

    # ------------------------------------------------------ the CLI's door
    def compact_memory(self) -> ManualCompaction:
        """`echo 1 > /proc/sys/vm/compact_memory`: a manual compaction of every zone, to completion.

        Recorded as a `compact` action (links replay it). A scenario that paces manual compaction
        (`compaction.manual_steps_per_tick`) has the run finished here at once."""
        comp = find_compaction(self)
        if comp is None:
            raise ScenarioError("compact: compaction is not installed in this simulation")
        detail = self.apply(CompactAction())
        with self.node.running(SHELL):
            return comp.complete_manual(detail)

    def alloc_stats(self) -> AllocStats:
        """Allocation requests and successes by order since tick 0 (every caller of the allocator)."""
        return self.node.alloc_stats()

    def add_checker(self, check: Callable[[Simulation], None]) -> None:
        """Call `check(sim)` at the end of every step (e.g. the invariant checker). A module-level
        function or a bound method: keyframes copy it."""
        self.checkers.append(check)

    def proc_names(self) -> tuple[str, ...]:
        """The /proc and debugfs files this simulation has: the node's, then its subsystems'."""
        return PROC_FILES + tuple(self.proc_files)

    def proc(self, name: str) -> str:
        """The text of /proc (or debugfs) file `name`, in the kernel's format."""
        node_file = RENDERERS.get(name)
        if node_file is not None:
            return node_file(self.node)
        renderer = self.proc_files.get(name)
        if renderer is None:
            need = SUBSYSTEM_PROC_FILES.get(name)
            if need is not None:
                raise ScenarioError(f"proc: {name} needs {need} in the scenario")
            raise ScenarioError(
                f"proc: no file {name[:40]!r} in this simulation; one of {', '.join(self.proc_names())}"
            )
        return renderer(self)

    # ------------------------------------------------------------- keyframes
    def snapshot(self) -> Keyframe:
        """This simulation as a keyframe (simcore.keyframe): `snapshot().restore()` is a copy whose
        every later frame equals this one's after the same steps and actions. Drops the events
        `new_events()` already handed out (never read again)."""
        if self._frame_event_start:
            del self.node.events[: self._frame_event_start]
            self._frame_event_start = 0
        return Keyframe(self.tick, pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    def adopt_recorded(self, recorded: Scenario) -> None:
        """Follow `recorded`, this run's timeline plus actions recorded at later ticks (a keyframe
        restored after live actions further on): they are performed when their tick comes."""
        done = self._timeline[: self._timeline_pos]
        timeline = sorted(enumerate(recorded.timeline), key=lambda e: (e[1].at, e[0]))
        pos = sum(1 for _, e in timeline if e.at <= self.tick)
        if [e for _, e in timeline[:pos]] != [e for _, e in done]:
            raise ValueError("recorded timeline differs from this run's up to its tick")
        self.recorded = recorded
        self._timeline = timeline
        self._timeline_pos = pos

    # ---------------------------------------------------------------- output
    def share_token(self, at_tick: int | None = None) -> str:
        """The share-link token that rebuilds this run (recorded actions included) at `at_tick`."""
        return make_token(self.recorded, self.tick if at_tick is None else at_tick)

    def vmstat(self) -> dict[str, int]:
        return node_vmstat(self.node)

    def new_events(self) -> list[Event]:
        """Events since the last call (the frame's "new events")."""
        evs = self.node.events[self._frame_event_start :]
        self._frame_event_start = len(self.node.events)
        if len(self.node.events) > 100_000:
            del self.node.events[:]
            self._frame_event_start = 0
        return evs

    def zone_frames(self) -> tuple[ZoneFrame, ...]:
        zones = []
        for z in self.node.zones:
            counts = z.free_counts()
            nr_free = [sum(row) for row in counts]
            zones.append(
                ZoneFrame(
                    z.name,
                    z.start_pfn,
                    z.end_pfn,
                    z.free_pages,
                    z.managed,
                    z.watermark[0],
                    z.watermark[1],
                    z.watermark[2],
                    z.watermark_boost,
                    tuple(tuple(row) for row in counts),
                    tuple(z.block_type_counts()),
                    fragmentation_index(fill_contig_page_info(nr_free, 9), 9),
                )
            )
        return tuple(zones)

    def tick_record(self) -> TickRecord:
        """This tick without the page arrays (`TickRecord`); takes the new events as `frame()` does."""
        events = tuple(self.new_events())
        return TickRecord(self.tick, self.zone_frames(), self.vmstat(), self.scanners(), events)

    def frame(self, events: bool = True) -> Frame:
        node = self.node
        kind = np.frombuffer(node.kind, dtype=np.uint8)
        buddy = np.frombuffer(node.buddy, dtype=np.uint8)
        lenses = pageblock_lenses(kind, buddy)
        zones = self.zone_frames()
        return Frame(
            tick=self.tick,
            nr_pages=node.nr_pages,
            pb_mt=np.frombuffer(bytes(node.pb_mt), dtype=np.uint8),
            pb_skip=np.frombuffer(bytes(node.pb_skip), dtype=np.uint8),
            pb_skip_reason=self.skip_reason.copy(),
            page_kind=kind.copy(),
            zones=zones,
            vmstat=self.vmstat(),
            scanners=self.scanners(),
            events=tuple(self.new_events()) if events else (),
            pb_free=lenses["pb_free"],
            pb_movable=lenses["pb_movable"],
            pb_reclaimable=lenses["pb_reclaimable"],
            pb_unmovable=lenses["pb_unmovable"],
            pb_largest_order=lenses["pb_largest_order"],
            pressure=pressure_frame_of(self),
        )

    def summary(self) -> dict[str, object]:
        node = self.node
        return {
            "tick": self.tick,
            "free_pages": node.free_pages,
            "allocated_pages": node.allocated_pages,
            "movable_blocks": node.pb_mt.count(MigrateType.MOVABLE),
        }


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A simulation at the end of tick `tick`, as bytes (theory of operation: simcore.keyframe)."""

    tick: int
    data: bytes

    @property
    def nbytes(self) -> int:
        return len(self.data)

    def restore(self, recorded: Scenario | None = None) -> Simulation:
        """A new simulation in this keyframe's state; with `recorded`, following that timeline
        (which must extend the keyframe's with actions after its tick only)."""
        sim: Simulation = pickle.loads(self.data)
        if recorded is not None:
            sim.adopt_recorded(recorded)
        return sim
