"""Wiring of the optional kernel subsystems into a Simulation, in a fixed order.

Each subsystem module exposes ``install(sim)``, which may append an object to ``sim.subsystems``
(its ``on_tick`` runs every tick, in list order), fill its slots in ``sim.node.hooks`` (a
`KernelHooks`: the allocation slow path), register action handlers in ``sim.handlers``, /proc files
in ``sim.proc_files`` and provide ``sim.scanners``. Subsystems never replace each other's slots.
"""

from __future__ import annotations

from collections.abc import Callable

from simcore.compaction.install import install as install_compaction
from simcore.host import Host
from simcore.page_alloc import KernelHooks
from simcore.pressure.install import install as install_pressure
from simcore.pressure.procfiles import PROC_FILES as PRESSURE_PROC_FILES
from simcore.procfs import PROC_FILES

#: installers, in the order their on_tick runs
INSTALLERS: list[Callable[[Host], None]] = [
    install_pressure,
    install_compaction,
]


#: /proc files a subsystem adds -> what the scenario needs for it to be installed
SUBSYSTEM_PROC_FILES: dict[str, str] = dict.fromkeys(PRESSURE_PROC_FILES, "pressure.enabled = true")

#: every /proc file a simulation may have: the node's, then the subsystems'
KNOWN_PROC_FILES: tuple[str, ...] = PROC_FILES + tuple(SUBSYSTEM_PROC_FILES)


def install(sim: Host) -> None:
    """Install every subsystem the scenario asks for. The order is part of the model."""
    hooks = KernelHooks()
    sim.node.hooks = hooks
    for installer in INSTALLERS:
        installer(sim)
