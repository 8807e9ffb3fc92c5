"""What a subsystem may see of the simulation that installs it: the `Host` protocol.

`simcore.subsystems.install(sim)` hands each installer (compaction, pressure) the simulation typed as
a `Host`, never as `Simulation`: a subsystem reaches the node, the effective scenario, the shared
uniform stream and the registration points (per-tick objects, action handlers, scanner cursors, the
skip-reason bytes, the /proc files it adds), and nothing else. This keeps the import graph one-way:
`simulation` imports `subsystems`, which imports the installers, which import only this module and
lower ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from simcore.frame import ScannerFrame
    from simcore.node import Node
    from simcore.scenario import Scenario
    from simcore.workload import Uniforms


#: a /proc (or debugfs) file a subsystem adds: the simulation -> the file's text
ProcRenderer = Callable[["Host"], str]


class Subsystem(Protocol):
    """A part of the kernel that acts on its own each tick (kswapd, kcompactd, notifiers...)."""

    def on_tick(self) -> None: ...


class Host(Protocol):
    """The parts of a `Simulation` that installers and subsystems use."""

    #: the effective settings now (`set` actions replace it; read it, never keep a copy)
    scenario: Scenario
    node: Node
    uniforms: Uniforms
    #: per-tick objects, run in list order after the workload
    subsystems: list[Subsystem]
    #: action type -> handler returning a one-line summary
    handlers: dict[str, Callable[[Any], str]]
    #: uint8 per pageblock: the last `SkipReason` a scanner passed it by
    skip_reason: np.ndarray
    #: the compaction cursors a frame shows
    scanners: Callable[[], tuple[ScannerFrame, ...]]
    #: file name -> renderer, for the files a subsystem adds beside the node's (`procfs.PROC_FILES`);
    #: module-level functions or bound methods only (keyframes copy them)
    proc_files: dict[str, ProcRenderer]
