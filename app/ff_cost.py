"""The fast-forward cap, in words: what opening a run at some tick would cost this server."""

from __future__ import annotations


def seconds(x: float) -> str:
    """A duration for the reader: whole seconds from 10 on, two significant digits below."""
    if x >= 10:
        return f"about {x:.0f} s"
    if x >= 0.01:
        return f"about {x:.2g} s"
    return "under 0.01 s"


def ff_refusal(field: str, start: int, target: int, ept: int, cap: int, rate: int) -> str | None:
    """Why this server refuses to run ticks `start`..`target` at `ept` events a tick (at most `cap`
    events; `rate` events/s turns both into seconds for the reader), or None if it does not."""
    work = (target - start) * ept
    if work <= cap:
        return None
    where = f"from tick {start}, the nearest point a run here has reached" if start else "from tick 0"
    return (f"{field}: this needs {seconds(work / rate)} of simulation ({target - start} ticks "
            f"{where}, x {ept} events a tick); this server allows {seconds(cap / rate)} "
            f"(got {work} events, cap {cap})")
