"""Benchmark: Detach / a copied link at tick ~10,000 of `default`, from the server's shared keyframes.

A presenter's run (`SimRun` with a `SharedKeyframes` store, as the hub builds it) plays `default` to
tick 10,037; then a new run of the link to that tick starts from the nearest shared keyframe and
replays to the tick, three times (the first finds the presenter's keyframe, the next ones also the
one the first left). Prints each open's wall time and whether its frame hash equals the presenter's
(issue 11's target: under 1 s).

    python bench/bench_detach.py
"""

from __future__ import annotations

import time
import warnings

warnings.simplefilter("ignore")

from app.presets import load_scenario  # noqa: E402
from app.shared_keyframes import SharedKeyframes  # noqa: E402
from app.simrun import SimRun  # noqa: E402
from simcore import decode_link  # noqa: E402


def main() -> None:
    shared = SharedKeyframes(512 << 20)
    presenter = SimRun(load_scenario("default"), 10**9, 10, 256 << 20, shared)
    t = time.perf_counter()
    presenter.advance(10_037)
    print(f"presenter to tick {presenter.tick}: {time.perf_counter() - t:.1f} s")
    token = presenter.share_token()
    for _ in range(3):
        t = time.perf_counter()
        scenario, at = decode_link(token)
        run = SimRun(scenario, 10**9, 10, 256 << 20, shared)
        kf = shared.nearest(scenario, at)
        assert kf is not None
        run.start_from(kf)
        run.advance(at - run.tick)
        same = run.frame_hash == presenter.frame_hash
        took = time.perf_counter() - t
        print(f"open at tick {at} from keyframe {kf.tick}: {took:.3f} s, same hash: {same}")
    print(f"shared keyframes: {sum(len(r.by_tick) for r in shared.runs.values())}, "
          f"{shared.nbytes >> 20} MiB")


if __name__ == "__main__":
    main()
