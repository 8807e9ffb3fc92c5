"""The `zonescope` command line. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from simcore import ScenarioError

Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = """\
zonescope: a live simulator of Linux physical memory management.

SCENARIO is a preset name (see `zonescope presets`), a scenario .toml file, or a share link
(a URL with /s/z1.... or the bare z1.... token).
"""


def build_parser() -> argparse.ArgumentParser:
    from app.cli import commands

    parser = argparse.ArgumentParser(
        prog="zonescope", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands.REGISTRY:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ScenarioError as err:
        print(f"zonescope: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
