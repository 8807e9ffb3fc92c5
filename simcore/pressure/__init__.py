"""Memory pressure: reclaim, overcommit, the OOM killer, and out-of-memory notifications.

Import `simcore.pressure.install` for the subsystem; `simcore.pressure.spec` holds the scenario and
action models (imported by simcore.scenario and simcore.actions, so this package stays import-light:
it re-exports only the pressure frame's data classes and the events the app formats).
"""

from simcore.pressure.events import MarkVictim, OomFail, PressureNotify, VmEnoughMemoryFail
from simcore.pressure.frame import (
    MAX_HISTORY,
    MAX_KILLS,
    MAX_MARKS,
    MAX_PROCESSES,
    CommitSummary,
    Heard,
    KswapdState,
    LastNotification,
    LowmemLevel,
    Mark,
    Meminfo,
    OomKill,
    PressureFrame,
    PressureHistory,
    PressureLevels,
    ProcessRow,
    PsiAverages,
    PsiLevel,
    SigdangerLevel,
    ThresholdLevel,
)

__all__ = [
    "MAX_HISTORY",
    "MAX_KILLS",
    "MAX_MARKS",
    "MAX_PROCESSES",
    "CommitSummary",
    "Heard",
    "KswapdState",
    "LastNotification",
    "LowmemLevel",
    "Mark",
    "MarkVictim",
    "Meminfo",
    "OomFail",
    "OomKill",
    "PressureFrame",
    "PressureHistory",
    "PressureLevels",
    "PressureNotify",
    "ProcessRow",
    "PsiAverages",
    "PsiLevel",
    "SigdangerLevel",
    "ThresholdLevel",
    "VmEnoughMemoryFail",
]
