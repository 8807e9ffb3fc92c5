"""Documents from outside (links, request bodies, TOML files, ``--set`` values) are measured before
they are parsed.

A scenario is a small, shallow document: a few kilobytes, nested five levels at most, numbers of a
few digits. The parsers themselves are not bounded that way: Python's ``json`` recurses once per
nesting level (a deep enough document is a RecursionError), ``int()`` refuses more than 4,300 digits
with a ValueError, and ``tomllib`` does both. `check_text` refuses a document over the size, depth
or digit limits with one line naming them, before any parser sees it; `parse_json` and `parse_toml`
then parse, and turn whatever a parser still raises into the same kind of line.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any, Final

from simcore.errors import ScenarioError

#: characters in one document (a scenario with a full timeline is about 130 kB)
MAX_DOC_CHARS: Final = 512 * 1024
#: nesting of arrays and tables / objects (scenarios use 5)
MAX_DEPTH: Final = 32
#: digits in one number (the largest field, a 64-bit seed, has 19)
MAX_DIGITS: Final = 40

# strings and comments, removed before brackets and digits are counted: TOML's multi-line strings
# first, then basic (JSON and TOML) and literal strings, then TOML comments
_SKIPPED: Final = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_BRACKETS: Final = re.compile(r"[\[\]{}]")
_LONG_NUMBER: Final = re.compile(rf"\d(?:_?\d){{{MAX_DIGITS},}}")


def check_text(text: str, field: str) -> None:
    """ScenarioError unless `text` is within the size, nesting and number-length limits."""
    if len(text) > MAX_DOC_CHARS:
        raise ScenarioError(f"{field}: document too large (got {len(text)} characters, cap {MAX_DOC_CHARS})")
    bare = _SKIPPED.sub(" ", text)
    depth = deepest = 0
    for m in _BRACKETS.finditer(bare):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ScenarioError(f"{field}: nested too deeply (got {deepest} levels, cap {MAX_DEPTH})")
    long = _LONG_NUMBER.search(bare)
    if long is not None:
        digits = sum(c.isdigit() for c in long.group())
        raise ScenarioError(f"{field}: a number is too long (got {digits} digits, cap {MAX_DIGITS})")


def parse_json(raw: bytes | str, field: str) -> Any:
    """A JSON document from outside, within the limits; ScenarioError (one line) if it is not one."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise ScenarioError(f"{field}: not UTF-8 text") from None
    check_text(text, field)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "too complex to parse"
        raise ScenarioError(f"{field}: not a JSON document ({reason})") from None


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """A TOML document from outside, within the limits; ScenarioError naming `where` if it is not one."""
    check_text(text, where)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{where}: not valid TOML ({err})") from None
    except (ValueError, RecursionError):
        raise ScenarioError(f"{where}: not valid TOML (too complex to parse)") from None
