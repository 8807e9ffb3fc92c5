"""The simulation: a scenario, a seeded generator, a node, a workload, a clock in ticks.

`step()` advances one tick: the workload's events, then every subsystem's `on_tick()` (daemons such
as kswapd and kcompactd, compaction runs in progress, notifications), then the timeline actions
scheduled at the new tick. `apply(action)` performs an action now and records it in the scenario's
timeline, so that `scenario` + seed + tick rebuilds any state by replay (share links). Time is only
counted here; pacing in real time belongs to the app.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simcore.actions import (
    Action,
    AllocAction,
    CompactAction,
    FillAction,
    FreeEveryOtherAction,
    FreeGroupAction,
    SetAction,
)
from simcore.constants import CLASS_BY_NAME, MigrateType
from simcore.events import ActionApplied, Event
from simcore.fragmentation import fill_contig_page_info, fragmentation_index
from simcore.frame import Frame, ScannerFrame, ZoneFrame, pageblock_lenses
from simcore.host import Subsystem
from simcore.keyframe import Keyframe
from simcore.node import Node
from simcore.pressure.summary import pressure_frame_of
from simcore.scenario import Scenario, ScenarioError, VmSpec, validate_scenario
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
        self._frame_event_start = 0
        self.handlers: dict[str, Callable[[Action], str]] = {
            "fill": self._do_fill,  # type: ignore[dict-item]
            "free_every_other": self._do_free_every_other,  # type: ignore[dict-item]
            "free_group": self._do_free_group,  # type: ignore[dict-item]
            "alloc": self._do_alloc,  # type: ignore[dict-item]
            "set": self._do_set,  # type: ignore[dict-item]
            "compact": self._do_compact_unavailable,  # type: ignore[dict-item]
        }
        self._install_subsystems()
        self._timeline_pos = 0
        self._timeline = sorted(enumerate(scenario.timeline), key=lambda e: (e[1].at, e[0]))
        self._run_timeline()

    def _install_subsystems(self) -> None:
        """Hook the optional kernel subsystems in; each module owns its own wiring."""
        from simcore import subsystems

        subsystems.install(self)

    # ------------------------------------------------------------- the clock
    def step(self) -> None:
        self.tick += 1
        self.node.tick = self.tick
        self.workload.run_tick()
        for sub in self.subsystems:
            sub.on_tick()
        self._run_timeline()

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
        detail = self.handlers[action.type](action)
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

    def _do_compact_unavailable(self, a: CompactAction) -> str:
        return "compaction is not available in this build"

    # ------------------------------------------------------------- keyframes
    def snapshot(self) -> Keyframe:
        """This simulation as a keyframe (simcore.keyframe): `snapshot().restore()` is a copy whose
        every later frame equals this one's after the same steps and actions."""
        from simcore.keyframe import snapshot

        return snapshot(self)

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
        from simcore.link import make_token

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

    def frame(self, events: bool = True) -> Frame:
        node = self.node
        kind = np.frombuffer(node.kind, dtype=np.uint8)
        buddy = np.frombuffer(node.buddy, dtype=np.uint8)
        lenses = pageblock_lenses(kind, buddy)
        zones = []
        for z in node.zones:
            nr_free = z.nr_free_per_order()
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
                    tuple(tuple(row) for row in z.free_counts()),
                    tuple(z.block_type_counts()),
                    fragmentation_index(fill_contig_page_info(nr_free, 9), 9),
                )
            )
        return Frame(
            tick=self.tick,
            nr_pages=node.nr_pages,
            pb_mt=np.frombuffer(bytes(node.pb_mt), dtype=np.uint8),
            pb_skip=np.frombuffer(bytes(node.pb_skip), dtype=np.uint8),
            pb_skip_reason=self.skip_reason.copy(),
            page_kind=kind.copy(),
            zones=tuple(zones),
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
