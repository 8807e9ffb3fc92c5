"""Wiring of the optional kernel subsystems into a Simulation, in a fixed order.

Each subsystem module exposes ``install(sim)``, which may append an object to ``sim.subsystems``
(its ``on_tick`` runs every tick, in list order), fill its slots in ``sim.node.hooks`` (a
`KernelHooks`: the allocation slow path), register action handlers in ``sim.handlers`` and provide
``sim.scanners``. Subsystems never replace each other's slots.
"""

from __future__ import annotations

from collections.abc import Callable

from simcore.compaction.install import install as install_compaction
from simcore.host import Host
from simcore.page_alloc import KernelHooks
from simcore.pressure.install import install as install_pressure

#: installers, in the order their on_tick runs
INSTALLERS: list[Callable[[Host], None]] = [
    install_pressure,
    install_compaction,
]


def install(sim: Host) -> None:
    """Install every subsystem the scenario asks for. The order is part of the model."""
    hooks = KernelHooks()
    sim.node.hooks = hooks
    for installer in INSTALLERS:
        installer(sim)
