"""Wiring of the optional kernel subsystems into a Simulation, in a fixed order.

Each subsystem module exposes ``install(sim)``, which may append an object to ``sim.subsystems``
(its ``on_tick`` runs every tick, in list order), fill its slots in ``sim.node.hooks`` (a
`KernelHooks`: the allocation slow path), register action handlers in ``sim.handlers`` and provide
``sim.scanners``. Subsystems never replace each other's slots.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simcore.compaction.install import install as install_compaction
from simcore.page_alloc import AllocContext, SlowpathHooks
from simcore.pressure.install import install as install_pressure

if TYPE_CHECKING:
    from simcore.simulation import Simulation
    from simcore.zone import Zone


class KernelHooks(SlowpathHooks):
    """Routes each slow-path step to the subsystem that installed itself for it (or does nothing)."""

    def __init__(self) -> None:
        self.kswapd: Callable[[AllocContext], None] | None = None
        self.compact: Callable[[AllocContext, int], int] | None = None
        self.compact_retry: Callable[[AllocContext, int], bool] | None = None
        self.reclaim: Callable[[AllocContext], tuple[int, int]] | None = None
        self.oom: Callable[[AllocContext], bool] | None = None
        self.boosted: Callable[[Zone], None] | None = None

    def wake_kswapd(self, ac: AllocContext) -> None:
        if self.kswapd is not None:
            self.kswapd(ac)

    def direct_compact(self, ac: AllocContext, prio: int) -> int:
        return self.compact(ac, prio) if self.compact is not None else -1

    def direct_reclaim(self, ac: AllocContext) -> tuple[int, int]:
        return self.reclaim(ac) if self.reclaim is not None else (-1, 0)

    def should_compact_retry(self, ac: AllocContext, retries: int) -> bool:
        return self.compact_retry(ac, retries) if self.compact_retry is not None else False

    def out_of_memory(self, ac: AllocContext) -> bool:
        return self.oom(ac) if self.oom is not None else False

    def after_alloc(self, zone: Zone) -> None:
        if self.boosted is not None:
            self.boosted(zone)


#: installers, in the order their on_tick runs: (module, function) resolved lazily
INSTALLERS: list[Callable[[Simulation], None]] = [
    install_pressure,
    install_compaction,
]


def install(sim: Simulation) -> None:
    """Install every subsystem the scenario asks for. The order is part of the model."""
    hooks = KernelHooks()
    sim.node.hooks = hooks
    for installer in INSTALLERS:
        installer(sim)
