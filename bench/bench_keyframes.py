"""Benchmark: backward seeks in a dashboard session, with and without keyframes (app/keyframes.py).

A `SimRun` (the session's simulation with its frame-hash chain, as the server drives it) of a
preset runs to `--at` ticks; then seeks as the hub does them (`rewind()` to the nearest keyframe,
then `advance()` to the target) are timed with `time.perf_counter()`: one tick back (the left
arrow), a second tick back, `--back` ticks back, and one tick back after a pause (where a run
pauses, the hub leaves keyframes just behind: `prefill_back()`). "before" is the same run with
keyframes off (`keyframe_bytes=0`): a backward seek rebuilds at tick 0 and replays. Also reported:
the cost of keeping keyframes while running forward, the keyframes held at the end (count, spacing,
MiB), and one snapshot's size and snapshot / restore times. Every seek's frame_hash is checked
against the run without keyframes.

    python bench/bench_keyframes.py                        # default preset, tick 1000, JSON on stdout
    python bench/bench_keyframes.py --preset fragmented-zone --at 400 --back 200
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

from app.presets import load_scenario
from app.settings import Settings
from app.simrun import SimRun


def timed_seek(run: SimRun, target: int) -> float:
    t0 = time.perf_counter()
    run.rewind(target)
    run.advance(target - run.tick)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--at", type=int, default=1000)
    ap.add_argument("--back", type=int, default=500)
    ap.add_argument("--skip-before", action="store_true", help="only the run with keyframes")
    args = ap.parse_args()
    st = Settings()
    scenario = load_scenario(args.preset)
    out: dict[str, Any] = {"preset": args.preset, "at": args.at, "machine": platform.machine(),
                           "python": platform.python_version(), "keyframe_every": st.keyframe_every,
                           "keyframe_memory_mib": st.keyframe_memory_mib}
    hashes: dict[int, str] = {}
    if not args.skip_before:
        plain = SimRun(scenario, 10**12, keyframe_bytes=0)
        t0, c0 = time.perf_counter(), time.process_time()
        plain.advance(args.at)
        out["run_s_without_keyframes"] = round(time.perf_counter() - t0, 3)
        out["run_cpu_s_without_keyframes"] = round(time.process_time() - c0, 3)
        hashes[args.at] = plain.frame_hash
        before = {}
        for name, target in (("back_1", args.at - 1), (f"back_{args.back}", args.at - args.back)):
            plain.rewind(args.at)
            plain.advance(args.at - plain.tick)
            before[name] = round(timed_seek(plain, target), 3)
            hashes[target] = plain.frame_hash
        out["before_s"] = before
    run = SimRun(scenario, 10**12, st.keyframe_every, st.keyframe_memory_mib << 20)
    t0, c0 = time.perf_counter(), time.process_time()
    run.advance(args.at)
    out["run_s_with_keyframes"] = round(time.perf_counter() - t0, 3)
    out["run_cpu_s_with_keyframes"] = round(time.process_time() - c0, 3)
    after = {"back_1": timed_seek(run, args.at - 1), "back_1_again": timed_seek(run, args.at - 2),
             "forward_to_at": timed_seek(run, args.at)}
    if hashes and run.frame_hash != hashes[args.at]:
        raise SystemExit("frame_hash differs after seeking back and forth")
    after[f"back_{args.back}"] = timed_seek(run, args.at - args.back)
    after[f"back_{args.back}_then_1"] = timed_seek(run, args.at - args.back - 1)
    # as the hub does at a pause (or at the end of a seek): keyframes just behind, then step back
    timed_seek(run, args.at + 7)
    t0 = time.perf_counter()
    run.prefill_back()
    after["pause_prefill"] = time.perf_counter() - t0
    after["back_1_after_pause"] = timed_seek(run, args.at + 6)
    out["after_s"] = {k: round(v, 4) for k, v in after.items()}
    if args.at - args.back in hashes:
        run.advance(1)
        timed_seek(run, args.at - args.back)
        if run.frame_hash != hashes[args.at - args.back]:
            raise SystemExit("frame_hash differs from the replay without keyframes")
    kfs = run.keyframes
    out["keyframes"] = {"regular": len(kfs.regular), "extra": len(kfs.extra), "every": kfs.every,
                        "mib": round(kfs.nbytes / (1 << 20), 1)}
    t0 = time.perf_counter()
    kf = run.sim.snapshot()
    t1 = time.perf_counter()
    kf.restore()
    t2 = time.perf_counter()
    out["snapshot"] = {"mib": round(kf.nbytes / (1 << 20), 2), "snapshot_ms": round((t1 - t0) * 1e3, 1),
                       "restore_ms": round((t2 - t1) * 1e3, 1)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
