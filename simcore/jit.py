"""numba, in one place: the decorator the compiled kernels use, and the switch to run them as Python.

Kernels (`simcore.kernels`) are plain functions over integer arrays, decorated with `kernel`. numba
compiles each on first call and caches the machine code beside the source (``cache=True``), so a
second process starts in well under a second. ``NUMBA_DISABLE_JIT=1`` makes `kernel` return the
function itself: the same source then runs as CPython, which the equivalence tests use.

`py(fn)` is the Python twin of a kernel: the same code, with the kernels it calls replaced by their
twins too. Callers that do one small operation at a time from Python (a single list insertion, say)
call the twin on the `array.array` buffers, which CPython indexes in ~30 ns, rather than paying
numba's argument unboxing (~1 us for a handful of arrays) per call.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

#: What a kernel's buffer arguments are, for the type checker: a ``bytearray``, an ``array.array`` or
#: a numpy array of integers.
Buf = Any

#: True when numba compiles the kernels (NUMBA_DISABLE_JIT unset or 0).
JIT = not numba.config.DISABLE_JIT  # type: ignore[attr-defined]


_KERNELS: set[Callable[..., Any]] = set()
#: ``range`` that a `parallel_kernel` runs on every core
prange = numba.prange


def kernel(fn: F) -> F:
    """Compile `fn` with numba (nopython, cached, no GIL held), or leave it Python without JIT."""
    _KERNELS.add(fn)
    if not JIT:
        return fn
    compiled: F = numba.njit(cache=True, nogil=True)(fn)  # type: ignore[assignment]
    return compiled


def parallel_kernel(fn: F) -> F:
    """`kernel` whose ``numba.prange`` loops run on every core (numba ``parallel=True``)."""
    _KERNELS.add(fn)
    if not JIT:
        return fn
    compiled: F = numba.njit(cache=True, nogil=True, parallel=True)(fn)  # type: ignore[assignment]
    return compiled


def inline_kernel(fn: F) -> F:
    """`kernel`, and inlined into the kernels that call it (numba ``inline="always"``): for the
    small hot ones, whose calls would otherwise pass every buffer and count its references."""
    _KERNELS.add(fn)
    if not JIT:
        return fn
    compiled: F = numba.njit(cache=True, nogil=True, inline="always")(fn)  # type: ignore[assignment]
    return compiled


_TWINS: dict[Callable[..., Any], Callable[..., Any]] = {}


def py(fn: F) -> F:
    """The Python twin of kernel `fn`: its code, calling the twins of the kernels it calls."""
    f = getattr(fn, "py_func", fn)
    twin = _TWINS.get(f)
    if twin is None:
        names: dict[str, Any] = dict(f.__globals__)
        twin = types.FunctionType(f.__code__, names, f.__name__, f.__defaults__, f.__closure__)
        _TWINS[f] = twin
        for name in f.__code__.co_names:
            called = names.get(name)
            if called is not None and (hasattr(called, "py_func") or called in _KERNELS):
                names[name] = py(called)
    out: F = twin  # type: ignore[assignment]
    return out
