"""Actions: things that happen to a simulation besides its workload, as validated data.

The same models serve a scenario's timeline and the live controls of the dashboard; a live action is
recorded as a timeline entry, so a share link (scenario + timeline + tick) replays it exactly.
Handlers live in `simcore.simulation` (and the subsystem modules that register more).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from simcore.constants import MAX_PAGE_ORDER
from simcore.pressure.spec import (
    DropCachesAction,
    KillAction,
    LowmemAction,
    MadviseAction,
    OomScoreAdjAction,
    OvercommitAction,
)

GroupName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
ClassName = Literal[
    "anon", "pagecache", "slab_reclaimable", "slab_unmovable", "pagetable", "kernel", "huge", "lazyfree"
]
Order = Annotated[int, Field(ge=0, le=MAX_PAGE_ORDER)]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FillAction(_Action):
    """Allocate `order`-sized chunks until `fraction` of the free memory (MemFree) is used."""

    type: Literal["fill"] = "fill"
    group: GroupName = "chunks"
    fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    order: Order = 0
    alloc_class: Annotated[ClassName, Field(alias="class")] = "anon"
    owner: GroupName = "filler"


class FreeEveryOtherAction(_Action):
    """Free every other allocation of a group, in physical address order (the selftest's unmap)."""

    type: Literal["free_every_other"] = "free_every_other"
    group: GroupName = "chunks"


class FreeGroupAction(_Action):
    type: Literal["free_group"] = "free_group"
    group: GroupName


class AllocAction(_Action):
    """Request `count` blocks of `order` for `class`, each through the full allocation path."""

    type: Literal["alloc"] = "alloc"
    order: Order = 9
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    alloc_class: Annotated[ClassName, Field(alias="class")] = "huge"
    group: GroupName = "requests"
    owner: GroupName = "requester"


SettableKey = Literal[
    "defrag",
    "mode",
    "vm.watermark_scale_factor",
    "vm.watermark_boost_factor",
    "vm.extfrag_threshold",
    "vm.compaction_proactiveness",
    "workload.events_per_tick",
    "workload.target_occupancy",
]


class SetAction(_Action):
    """Change a policy or tunable while running (validated against the scenario's own bounds)."""

    type: Literal["set"] = "set"
    key: SettableKey
    value: float | int | str


class CompactAction(_Action):
    """Manual compaction, as writing 1 to /proc/sys/vm/compact_memory (order -1, sync, whole zone).

    `zone` limits it to one zone (as /sys/devices/system/node/node0/compact does per node).
    `step` asks for one incremental step of the run in progress (or a new one) instead; `pace`
    spreads the run over ticks.
    """

    type: Literal["compact"] = "compact"
    zone: Literal["DMA", "DMA32", "Normal", "HighMem", "Movable"] | None = None
    step: bool = False
    #: turns of `compact_zone()`'s loop per tick, so that the scanners can be watched (0: the
    #: scenario's `compaction.manual_steps_per_tick`, and 0 there: the run completes at once)
    pace: Annotated[int, Field(ge=0, le=100_000)] = 0


Action = Annotated[
    FillAction
    | FreeEveryOtherAction
    | FreeGroupAction
    | AllocAction
    | SetAction
    | CompactAction
    | DropCachesAction
    | OomScoreAdjAction
    | KillAction
    | MadviseAction
    | OvercommitAction
    | LowmemAction,
    Field(discriminator="type"),
]


#: actions that act on the pressure subsystem: a scenario must enable ``[pressure]`` to use them
PRESSURE_ACTIONS: Final = tuple(
    str(cls.model_fields["type"].default)
    for cls in (
        DropCachesAction, OomScoreAdjAction, KillAction, MadviseAction, OvercommitAction, LowmemAction
    )
)


def needs_pressure(action_type: str) -> bool:
    """Whether an action of this type needs the pressure subsystem (``[pressure] enabled = true``)."""
    return action_type in PRESSURE_ACTIONS


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[int, Field(ge=0, description="tick at the end of which the action applies")]
    action: Action
