"""The scenario: one validated document describing a run (zones, seed, workload, policies, timeline).

A scenario arrives as a TOML file, a preset name, a share-link token, or JSON from the browser; all
of them become the same `Scenario` model, validated once. Every number has a bound, unknown keys are
refused, and the total size is capped so that a shared link cannot start a simulation that exhausts
the server (see docs/scenarios.md for the caps).
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simcore.actions import Action, TimelineEntry, needs_pressure
from simcore.constants import CLASS_BY_NAME, MAX_PAGE_ORDER, PAGEBLOCK_NR_PAGES, ZONE_BY_NAME, Mode
from simcore.documents import check_text
from simcore.documents import parse_toml as _parse_toml
from simcore.errors import ScenarioError as ScenarioError  # re-exported: the error of this module
from simcore.policies import DEFAULT_POLICY, check_policy
from simcore.pressure.spec import PressureSpec

#: 1 TiB of 4 KiB pages: the largest node a scenario may describe (a server may set a lower cap:
#: `check_node_pages`).
MAX_NODE_PAGES = 1 << 28
#: The largest number of ticks a scenario may ask to run.
MAX_TICKS = 1_000_000
#: ticks x events_per_tick: bounds the work a scenario (and so a link) can ask for.
MAX_WORK = 200_000_000
MAX_EVENTS_PER_TICK = 200_000
MAX_TIMELINE = 2000
MAX_STREAMS = 32



class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ZoneName = Literal["DMA", "DMA32", "Normal", "HighMem", "Movable"]


class ZoneSpec(_Model):
    name: ZoneName
    pages: Annotated[
        int, Field(ge=PAGEBLOCK_NR_PAGES * 2, le=MAX_NODE_PAGES, description="spanned 4 KiB pages")
    ]

    @field_validator("pages")
    @classmethod
    def _whole_pageblocks(cls, v: int) -> int:
        if v % PAGEBLOCK_NR_PAGES:
            raise ValueError(f"must be a multiple of {PAGEBLOCK_NR_PAGES} (whole pageblocks), got {v}")
        return v


class NodeSpec(_Model):
    arch: Literal["x86_64", "x86_32"] = "x86_64"
    zones: Annotated[list[ZoneSpec], Field(min_length=1, max_length=4)] = [
        ZoneSpec(name="Normal", pages=262144)
    ]

    @model_validator(mode="after")
    def _check(self) -> NodeSpec:
        order = [ZONE_BY_NAME[z.name] for z in self.zones]
        if order != sorted(set(order)):
            raise ValueError(
                "zones must be distinct and in kernel order (DMA, DMA32, Normal, HighMem, Movable)"
            )
        total = sum(z.pages for z in self.zones)
        if total > MAX_NODE_PAGES:
            cap = f"cap {MAX_NODE_PAGES} = {gib(MAX_NODE_PAGES)}"
            raise ValueError(f"total pages exceed the cap (got {total}, {cap})")
        if self.arch == "x86_64" and "HighMem" in [z.name for z in self.zones]:
            raise ValueError("x86_64 has no HighMem zone")
        if self.arch == "x86_32" and "DMA32" in [z.name for z in self.zones]:
            raise ValueError("x86_32 has no DMA32 zone")
        return self

    @property
    def total_pages(self) -> int:
        return sum(z.pages for z in self.zones)


class VmSpec(_Model):
    """The /proc/sys/vm knobs the simulation honours."""

    min_free_kbytes: Annotated[int | None, Field(ge=128, le=1048576)] = None
    watermark_scale_factor: Annotated[int, Field(ge=1, le=3000)] = 10
    watermark_boost_factor: Annotated[int, Field(ge=0, le=100000)] = 15000
    extfrag_threshold: Annotated[int, Field(ge=0, le=1000)] = 500
    compaction_proactiveness: Annotated[int, Field(ge=0, le=100)] = 20


class CompactionSpec(_Model):
    """How compaction behaves (issue 3). The vm knobs (extfrag_threshold, proactiveness) live in `vm`."""

    migrate_fail_rate: Annotated[
        float, Field(ge=0.0, le=1.0, description="share of page migrations that fail")
    ] = 0.0
    kcompactd: bool = True
    proactive: bool = True
    direct_async: Annotated[bool, Field(description="direct compaction tries async before sync-light")] = True
    daemon_steps_per_tick: Annotated[
        int, Field(ge=1, le=100_000, description="kcompactd loop turns per tick")
    ] = 32
    manual_steps_per_tick: Annotated[
        int,
        Field(ge=0, le=100_000, description="0: manual compaction completes at once; else turns per tick"),
    ] = 0


OrderWeights = dict[Annotated[int, Field(ge=0, le=MAX_PAGE_ORDER)], Annotated[float, Field(gt=0, le=1e6)]]


class StreamSpec(_Model):
    """One entry of the workload mix: an owner allocating one class with an order distribution."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    alloc_class: Annotated[str, Field(alias="class")] = "anon"
    weight: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    orders: OrderWeights = {0: 1.0}
    lifetime: Annotated[float, Field(gt=0, le=1e9, description="mean lifetime in ticks")] = 100.0
    owner: Annotated[str, Field(min_length=1, max_length=40)] = "kernel"

    @field_validator("alloc_class")
    @classmethod
    def _known_class(cls, v: str) -> str:
        if v not in CLASS_BY_NAME:
            raise ValueError(f"unknown allocation class {v!r}; one of {', '.join(CLASS_BY_NAME)}")
        return v

    @field_validator("orders")
    @classmethod
    def _some_order(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("needs at least one order")
        return dict(sorted(v.items()))


class WorkloadSpec(_Model):
    events_per_tick: Annotated[int, Field(ge=0, le=MAX_EVENTS_PER_TICK)] = 2000
    target_occupancy: Annotated[float, Field(ge=0.0, le=0.99)] = 0.7
    streams: Annotated[list[StreamSpec], Field(max_length=MAX_STREAMS)] = [
        StreamSpec(name="anon", alloc_class="anon", weight=6, owner="app"),
        StreamSpec(name="pagecache", alloc_class="pagecache", weight=3, owner="app", lifetime=400),
        StreamSpec(name="slab", alloc_class="slab_unmovable", weight=1, lifetime=300),
    ]

    @model_validator(mode="after")
    def _unique(self) -> WorkloadSpec:
        names = [s.name for s in self.streams]
        if len(names) != len(set(names)):
            raise ValueError("stream names must be unique")
        return self


class ViewSpec(_Model):
    """How the dashboard opens the scenario, so that its story is on screen from the first frame.
    Nothing here changes the simulation (or its hashes)."""

    lens: Annotated[
        str, Field(max_length=40, pattern=r"^[a-z_]*$", description="the map's lens ('': the first one)")
    ] = ""
    open_at: Annotated[
        int, Field(ge=0, le=MAX_TICKS, description="the tick the dashboard opens at (fast-forwarded)")
    ] = 0
    pace: Annotated[
        int | None, Field(ge=0, le=100_000, description="the page's compaction pace (None: its default)")
    ] = None


class Scenario(_Model):
    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")] = "custom"
    title: Annotated[str, Field(max_length=120)] = ""
    description: Annotated[str, Field(max_length=4000)] = ""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    ticks: Annotated[int, Field(ge=0, le=MAX_TICKS, description="default run length")] = 200
    tick_ms: Annotated[int, Field(ge=1, le=1000, description="simulated milliseconds per tick")] = 10
    mode: Mode = Mode.MODERN
    defrag: Annotated[str, Field(description="a name of simcore.policies.DEFRAG_POLICIES")] = DEFAULT_POLICY
    node: NodeSpec = NodeSpec()
    vm: VmSpec = VmSpec()
    workload: WorkloadSpec = WorkloadSpec()
    compaction: CompactionSpec = CompactionSpec()
    timeline: Annotated[list[TimelineEntry], Field(max_length=MAX_TIMELINE)] = []
    pressure: PressureSpec = PressureSpec()
    view: ViewSpec = ViewSpec()

    @field_validator("defrag")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        return check_policy(v).name

    @model_validator(mode="after")
    def _bounded_work(self) -> Scenario:
        check_work(self, self.ticks)
        for i, entry in enumerate(self.timeline):
            if entry.at > MAX_TICKS:
                raise ValueError(f"timeline[{i}].at = {entry.at} exceeds {MAX_TICKS}")
            if needs_pressure(entry.action.type) and not self.pressure.enabled:
                raise ValueError(
                    f"timeline[{i}].action: {entry.action.type!r} acts on the pressure subsystem, "
                    "which this scenario does not install (set [pressure] enabled = true)"
                )
        return self

    def with_action(self, at: int, action: Action) -> Scenario:
        """A copy with one more timeline entry (live actions are recorded this way for links)."""
        entries = [*self.timeline, TimelineEntry(at=at, action=action)]
        if len(entries) > MAX_TIMELINE:
            raise ScenarioError(f"timeline: at most {MAX_TIMELINE} actions")
        return self.model_copy(update={"timeline": entries})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def check_tick(value: object, field: str) -> int:
    """`value` as a tick a run may go to (an integer in 0..MAX_TICKS): a link's or a request's
    ``at_tick``, ``--ticks``. `field` names it in the error."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TICKS:
        raise ScenarioError(f"{field} must be an integer in 0..{MAX_TICKS} (got {str(value)[:40]})")
    return value


def check_work(scenario: Scenario, ticks: int, cap: int = MAX_WORK, field: str = "ticks") -> None:
    """The one work-cap check: running `scenario` to tick `ticks` costs ``ticks x
    workload.events_per_tick`` events, at most `cap` (MAX_WORK for any scenario or link; a server
    passes its own, smaller cap for fast-forwards). `field` names the tick in the error."""
    ept = scenario.workload.events_per_tick
    work = ticks * ept
    if work > cap:
        raise ScenarioError(
            f"{field} x workload.events_per_tick exceeds the work cap "
            f"(got {ticks} x {ept} = {work}, cap {cap})"
        )


#: pydantic error types that compare a number with a bound: the message gets the value given
_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


#: errors one message lists (a document with thousands of bad keys gets one line, not thousands)
MAX_LISTED_ERRORS = 5


def format_validation_error(err: ValidationError) -> str:
    """One line: ``field.path: what is wrong`` per error (the first MAX_LISTED_ERRORS, then how many
    more), naming the bound and the value given."""
    parts = []
    errors = err.errors()
    for e in errors[:MAX_LISTED_ERRORS]:
        path = [str(p) for p in e["loc"] if not str(p).startswith("function-after") and str(p) != "[key]"]
        loc = ".".join(path) or "scenario"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not a field of this section; see docs/scenarios.md)"
        elif e["type"] in _BOUND_ERRORS:
            msg = f"{msg}, got {e['input']!r}"
            if loc.endswith(".pages") and e["type"].startswith("less_than"):
                msg += f" (a node holds at most {MAX_NODE_PAGES} pages = {gib(MAX_NODE_PAGES)})"
        parts.append(f"{loc}: {msg}")
    if len(errors) > MAX_LISTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_LISTED_ERRORS} more errors")
    return "; ".join(parts)


def gib(pages: int) -> str:
    """4 KiB pages as a size: ``"16 GiB"``, ``"1 TiB"``, ``"512 MiB"``."""
    mib = pages >> 8
    if mib >= 1 << 20 and not mib % (1 << 20):
        return f"{mib >> 20} TiB"
    return f"{mib >> 10} GiB" if mib >= 1024 and not mib % 1024 else f"{mib} MiB"


def check_node_pages(scenario: Scenario, cap: int, field: str = "node.zones") -> None:
    """ScenarioError unless the scenario's node has at most `cap` pages (a server's own cap)."""
    total = sum(z.pages for z in scenario.node.zones)
    if total > cap:
        raise ScenarioError(
            f"{field}: the node is larger than this server runs (got {total} pages = {gib(total)}, "
            f"cap {cap} = {gib(cap)}); run it with the zonescope CLI"
        )


def validate_scenario(data: Any) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err)) from None


def parse_value(text: str, key: str = "value") -> Any:
    """A --set value as a TOML literal (numbers, booleans, strings, arrays), else a plain string."""
    check_text(text, f"--set {key}")
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except (ValueError, RecursionError):
        raise ScenarioError(f"--set {key}: value too complex to parse") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides to a scenario document (before validation)."""
    for item in overrides:
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected key=value")
        key, _, raw = item.partition("=")
        path = [p for p in key.strip().split(".") if p]
        if not path:
            raise ScenarioError(f"--set {item!r}: empty key")
        node: Any = data
        for i, part in enumerate(path[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    where = ".".join(path[:i]) or "scenario"
                    raise ScenarioError(f"--set {key}: no element {part} in {where}")
                node = node[int(part)]
            else:
                # a missing list (an index follows, not as the last key): no element to set
                inner_index = i + 2 < len(path) and path[i + 1].isdigit()
                node = node.setdefault(part, [] if inner_index else {})
            if not isinstance(node, dict | list):
                raise ScenarioError(f"--set {key}: {'.'.join(path[: i + 1])} is not a table")
        last = path[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ScenarioError(f"--set {key}: no element {last}")
            node[int(last)] = parse_value(raw, key)
        else:
            node[last] = parse_value(raw, key)
    return data


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """A scenario document from TOML text, within the limits of `simcore.documents`; `where` names
    its origin in the error (a file, a preset)."""
    return _parse_toml(text, where)


def scenario_from_document(
    data: dict[str, Any], overrides: list[str] | None = None, seed: int | None = None
) -> Scenario:
    """A validated scenario from a raw document (a preset, a file, a link's document), after
    `--set` overrides and an explicit seed; a link's `at_tick` is dropped (it is not a scenario field)."""
    data = dict(data)
    data.pop("at_tick", None)
    if overrides:
        data = apply_overrides(data, overrides)
    if seed is not None:
        data["seed"] = seed
    return validate_scenario(data)
