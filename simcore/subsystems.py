"""Wiring of the optional kernel subsystems into a Simulation, in a fixed order.

Each subsystem module exposes ``install(sim)``, which may add an object to ``sim.subsystems``
(its ``on_tick`` runs every tick, in list order), replace ``sim.node.hooks`` (the allocation slow
path), register action handlers in ``sim.handlers`` and provide ``sim.scanners``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simcore.simulation import Simulation


def install(sim: Simulation) -> None:
    """Install every subsystem the scenario asks for. The order is part of the model."""
