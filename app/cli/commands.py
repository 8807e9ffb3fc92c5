"""The list of subcommand registrars, in the order `zonescope --help` shows them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.cli import compact_commands, serve_commands, sim_commands

Registrar = Callable[[Any], None]

REGISTRY: list[Registrar] = [
    sim_commands.register_run,
    sim_commands.register_proc,
    sim_commands.register_link,
    sim_commands.register_presets,
    serve_commands.register_serve,
    compact_commands.register_compact,
    compact_commands.register_compare,
]

__all__ = ["REGISTRY"]
