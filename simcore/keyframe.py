"""Keyframes: a simulation saved whole and rebuilt from it, every later frame bit-identical.

Theory of operation
-------------------
A `Keyframe` is the simulation's object graph pickled into one `bytes` value: the node's page
arrays, free lists, streams, the generator's state, the subsystems and the hooks that tie them
together. `restore()` unpickles a new, independent simulation; the keyframe itself is immutable, so
one keyframe can be restored any number of times. Pickle (rather than `copy.deepcopy`) is used
because it is faster, because its size is the exact memory a keyframe holds, and because it refuses
what cannot be copied faithfully: a closure, a lambda or a nested function stored on the graph
would be shared with (deepcopy) or unreachable from (pickle) the copy, so none may be stored there.
Hooks and handlers are bound methods of small objects; `unsafe_references()` finds offenders (the
tests walk every preset's graph with it). numpy views of the page arrays are rebuilt by their owner
on restore (`Compactor.__setstate__`), since a copied view would be a detached array.

Only the events not yet handed out by `Simulation.new_events()` are kept: the node's event log
before that point is never read again. `Keyframe` itself is defined beside `Simulation` (which makes
and restores it, so neither module needs the other's name); this module re-exports it and holds the
checks that keep the object graph copyable.

A keyframe taken at tick K holds the timeline recorded up to then. Live actions recorded later (at
ticks after K: one at or before K makes the keyframe stale, and its owner discards it) are adopted
on restore by `Simulation.adopt_recorded()`, so the restored run performs them when it gets there,
exactly as a replay of the recorded scenario from tick 0 would.
"""

from __future__ import annotations

import functools
import types
from collections import deque

import numpy as np

from simcore.simulation import Keyframe

__all__ = ["Keyframe", "unsafe_references"]

_LEAVES = (int, float, complex, str, bytes, bytearray, bool, type(None), type, types.ModuleType, range)


def unsafe_references(root: object) -> list[str]:
    """Paths (from `root`) to what a copy of the graph would not reproduce faithfully.

    Reports closures, lambdas and nested functions, `functools.partial` objects, and numpy arrays
    that are views of another buffer whose owner does not rebuild them on copy (`__getstate__`).
    Module-level functions, bound methods (their `__self__` is followed) and builtins are fine.
    """
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[object, str, bool]] = [(root, "sim", False)]
    while stack:
        obj, path, rebuilt = stack.pop()
        if id(obj) in seen or isinstance(obj, _LEAVES):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.base is not None and not rebuilt:
                found.append(f"{path}: numpy view")
        elif isinstance(obj, types.FunctionType):
            if obj.__closure__ or "<lambda>" in obj.__qualname__ or "<locals>" in obj.__qualname__:
                found.append(f"{path}: function {obj.__qualname__}")
        elif isinstance(obj, functools.partial):
            found.append(f"{path}: functools.partial of {obj.func!r}")
        elif isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
            owner = obj.__self__
            if not isinstance(owner, types.ModuleType):
                stack.append((owner, f"{path}.__self__", False))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                stack.append((k, f"{path} key", False))
                stack.append((v, f"{path}[{k!r}]", False))
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            for i, v in enumerate(obj):
                stack.append((v, f"{path}[{i}]", False))
        else:
            state = _state(obj)
            copied = _copied_state(obj) if "__getstate__" in type(obj).__dict__ else state
            for name, v in state.items():
                stack.append((v, f"{path}.{name}", name not in copied))
    return found


def _state(obj: object) -> dict[str, object]:
    """The attributes of an instance (its __dict__ and __slots__)."""
    out: dict[str, object] = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in cls.__dict__.get("__slots__", ()):
            if hasattr(obj, name):
                out[name] = getattr(obj, name)
    return out


def _copied_state(obj: object) -> dict[str, object]:
    state = obj.__getstate__()
    return state if isinstance(state, dict) else {}
