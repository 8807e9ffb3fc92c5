"""Defragmentation policies: the one list of what a scenario's `defrag` may name.

A policy decides what the allocation slow path's compaction step does (`__alloc_pages_direct_compact`
in the modern kernel, lumpy reclaim in 2.6.35's `shrink_inactive_list`, or nothing) and whether the
background defragmenters (kcompactd, proactive compaction) and the compaction retry of the slow path
run. Manual compaction (/proc/sys/vm/compact_memory) is available under every policy. The scenario
check, the compaction installer, `zonescope compare --policies` and the dashboard's select all read
this registry; adding a policy is one entry here plus its slow-path step in the installer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final


class SlowpathStep(Enum):
    """What the slow path's compaction step does under a policy."""

    #: direct compaction (`try_to_compact_pages`), then a retry while `should_compact_retry()`
    COMPACT = "compact"
    #: lumpy reclaim: reclaim the order-aligned neighbours of an LRU page
    LUMPY = "lumpy"
    #: nothing: the step fails at once
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class DefragPolicy:
    name: str
    #: what a select or a table heading shows
    label: str
    #: one line on what the policy does
    description: str
    slowpath: SlowpathStep

    @property
    def background(self) -> bool:
        """kcompactd and proactive compaction run (when the mode and the scenario enable them)."""
        return self.slowpath is SlowpathStep.COMPACT


def _registry(*policies: DefragPolicy) -> MappingProxyType[str, DefragPolicy]:
    return MappingProxyType({p.name: p for p in policies})


#: name -> policy, in the order the CLI and the dashboard list them; the first is the default
DEFRAG_POLICIES: Final = _registry(
    DefragPolicy(
        "compaction",
        "compaction",
        "direct compaction in the slow path, kcompactd and proactive compaction",
        SlowpathStep.COMPACT,
    ),
    DefragPolicy(
        "lumpy",
        "lumpy reclaim (2.6.35)",
        "lumpy reclaim in the slow path's compaction step; no kcompactd",
        SlowpathStep.LUMPY,
    ),
    DefragPolicy(
        "none",
        "none",
        "no defragmentation in the slow path; manual compaction only",
        SlowpathStep.NOTHING,
    ),
)

DEFAULT_POLICY: Final = next(iter(DEFRAG_POLICIES))


def check_policy(name: str) -> DefragPolicy:
    """The policy called `name`; ValueError naming the choices otherwise."""
    policy = DEFRAG_POLICIES.get(name)
    if policy is None:
        raise ValueError(f"unknown defrag policy {name[:40]!r}; one of {', '.join(DEFRAG_POLICIES)}")
    return policy
