"""zonescope's simulation core: pure, synchronous, seeded; numpy and the standard library only."""

from simcore.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, MigrateType
from simcore.scenario import Scenario, ScenarioError
from simcore.simulation import Simulation

__all__ = [
    "MAX_PAGE_ORDER",
    "NR_PAGE_ORDERS",
    "PAGEBLOCK_NR_PAGES",
    "PAGEBLOCK_ORDER",
    "MigrateType",
    "Scenario",
    "ScenarioError",
    "Simulation",
]
