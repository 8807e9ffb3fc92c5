"""zonescope's simulation core: pure, synchronous, seeded; numpy and the standard library only.

The public names below are the one door into the core: the app and the CLI import `simcore` and
nothing under it (tests/test_layers.py checks). A `Simulation` runs a `Scenario`; its methods give
frames, /proc files, keyframes, share tokens, manual compaction and allocation statistics.
"""

from simcore.actions import (
    Action,
    AllocAction,
    ClassName,
    CompactAction,
    FillAction,
    FreeEveryOtherAction,
    FreeGroupAction,
    SetAction,
)
from simcore.compaction.install import ManualCompaction, ZoneCompaction
from simcore.constants import (
    MAX_PAGE_ORDER,
    MIGRATETYPE_NAMES,
    NR_PAGE_KINDS,
    NR_PAGE_ORDERS,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    ZONE_NAMES,
    MigrateType,
    Mode,
    PageKind,
)
from simcore.documents import parse_json
from simcore.events import Event
from simcore.frame import (
    MOBILITY,
    SKIP_REASONS,
    Frame,
    RunHash,
    ScannerFrame,
    SkipReason,
    TickRecord,
    ZoneFrame,
)
from simcore.invariants import check as check_invariants
from simcore.link import decode_link, is_link, link_document, make_token
from simcore.page_alloc import AllocStats
from simcore.policies import DEFRAG_POLICIES, DefragPolicy
from simcore.pressure import (
    Heard,
    LowmemLevel,
    MarkVictim,
    OomFail,
    PressureFrame,
    PressureHistory,
    PressureLevels,
    PressureNotify,
    ProcessRow,
    PsiAverages,
    ThresholdLevel,
    VmEnoughMemoryFail,
)
from simcore.pressure.report import pressure_json
from simcore.procfs import PROC_FILES
from simcore.scenario import (
    MAX_TICKS,
    MAX_WORK,
    Scenario,
    ScenarioError,
    check_node_pages,
    check_tick,
    check_work,
    gib,
    parse_toml,
    scenario_from_document,
    validate_scenario,
)
from simcore.simulation import Keyframe, Simulation
from simcore.subsystems import KNOWN_PROC_FILES
from simcore.trace import format_body, format_trace

__all__ = [
    "DEFRAG_POLICIES",
    "KNOWN_PROC_FILES",
    "MAX_PAGE_ORDER",
    "MAX_TICKS",
    "MAX_WORK",
    "MIGRATETYPE_NAMES",
    "MOBILITY",
    "NR_PAGE_KINDS",
    "NR_PAGE_ORDERS",
    "PAGEBLOCK_NR_PAGES",
    "PAGEBLOCK_ORDER",
    "PAGE_ALLOC_COSTLY_ORDER",
    "PROC_FILES",
    "SKIP_REASONS",
    "ZONE_NAMES",
    "Action",
    "AllocAction",
    "AllocStats",
    "ClassName",
    "CompactAction",
    "DefragPolicy",
    "Event",
    "FillAction",
    "Frame",
    "FreeEveryOtherAction",
    "FreeGroupAction",
    "Heard",
    "Keyframe",
    "LowmemLevel",
    "ManualCompaction",
    "MarkVictim",
    "MigrateType",
    "Mode",
    "OomFail",
    "PageKind",
    "PressureFrame",
    "PressureHistory",
    "PressureLevels",
    "PressureNotify",
    "ProcessRow",
    "PsiAverages",
    "RunHash",
    "ScannerFrame",
    "Scenario",
    "ScenarioError",
    "SetAction",
    "Simulation",
    "SkipReason",
    "ThresholdLevel",
    "TickRecord",
    "VmEnoughMemoryFail",
    "ZoneCompaction",
    "ZoneFrame",
    "check_invariants",
    "check_node_pages",
    "check_tick",
    "check_work",
    "decode_link",
    "format_body",
    "format_trace",
    "gib",
    "is_link",
    "link_document",
    "make_token",
    "parse_json",
    "parse_toml",
    "pressure_json",
    "scenario_from_document",
    "validate_scenario",
]
