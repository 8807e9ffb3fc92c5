"""The hub and a live session (app/hub.py, app/live_session.py): latest-wins slots, credits, events for
viewers that skipped, the watchdog."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.hub import Hub
from app.live_session import LiveSession
from app.settings import Settings
from app.simrun import SimRun
from app.viewer import Viewer
from simcore.actions import AllocAction
from simcore.scenario import validate_scenario

TINY = {"name": "tiny", "seed": 2, "node": {"zones": [{"name": "Normal", "pages": 4096}]},
        "workload": {"events_per_tick": 40}}


class FakeSocket:
    def __init__(self, block: bool = False) -> None:
        self.sent: list[bytes | str] = []
        self.block = block

    async def send_bytes(self, data: bytes) -> None:
        await self._maybe_block()
        self.sent.append(data)

    async def send_text(self, text: str) -> None:
        await self._maybe_block()
        self.sent.append(text)

    async def _maybe_block(self) -> None:
        if self.block:
            await asyncio.Event().wait()


def make_session(settings: Settings | None = None) -> LiveSession:
    run = SimRun(validate_scenario(TINY), 10**9)
    return LiveSession("s1", run, 0, None, settings or Settings(), lambda s: None)


def viewer(session: LiveSession, ws: Any = None) -> Viewer:
    return Viewer(ws or FakeSocket(), session, "presenter", credit_window=2)


def test_latest_wins_and_drops_are_counted() -> None:
    async def go() -> None:
        s = make_session()
        v = viewer(s)
        s.viewers.append(v)
        for _ in range(3):
            await s._in_thread(lambda: s.run.advance(1))
        assert v.slot is s.latest and v.slot is not None and v.slot.seq == 3
        assert v.drops == 2  # seq 1 and 2 were overwritten unsent

    asyncio.run(go())


def test_credits_bound_frames_in_flight() -> None:
    async def go() -> None:
        s = make_session()
        ws = FakeSocket()
        v = viewer(s, ws)
        s.viewers.append(v)
        task = asyncio.create_task(v.run_sender())
        for _ in range(5):
            await s._in_thread(lambda: s.run.advance(1))
            await asyncio.sleep(0.01)
        binaries = [m for m in ws.sent if isinstance(m, bytes)]
        assert len(binaries) == 2 and v.credits == 0  # the window, then nothing without acks
        assert not v.ack(99)  # an ack for a frame never sent returns nothing
        assert v.ack(v.last_seq)
        await asyncio.sleep(0.01)
        binaries = [m for m in ws.sent if isinstance(m, bytes)]
        assert len(binaries) == 3  # the latest frame, at once
        v.closed = True
        v.wake.set()
        await task

    asyncio.run(go())


def test_a_viewer_that_skipped_frames_gets_their_events() -> None:
    async def go() -> None:
        s = make_session()
        v = viewer(s)
        s.viewers.append(v)
        await s._in_thread(lambda: s.run.advance(1))
        first = s.latest
        assert first is not None
        v.slot = None
        s.frame_messages(first, v)  # what the sender does with seq 1
        await s._in_thread(lambda: s.run.apply(AllocAction(order=1, count=1)))  # seq 2: an event
        await s._in_thread(lambda: s.run.advance(1))  # seq 3: overwrites seq 2 in the slot
        assert v.slot is s.latest and v.drops == 1
        _, text, shared = s.frame_messages(s.latest, v)
        assert not shared
        names = [e["name"] for e in json.loads(text)["events"]]
        assert "action" in names  # from the skipped frame
        # a viewer that saw every frame shares the one cached text
        w = viewer(s)
        w.event_cursor = s.latest.event_start
        _, again, shared = s.frame_messages(s.latest, w)
        assert shared
        assert json.loads(again)["events"] == [] and json.loads(again)["seq"] == 3

    asyncio.run(go())


def test_control_queue_overflow_evicts() -> None:
    s = make_session()
    v = viewer(s)
    for _ in range(600):
        v.push({"type": "status"})
    assert v.closed


def test_max_fps_caps_the_frame_rate() -> None:
    s = make_session(Settings(max_fps=30))
    s.tps, s.ticks_per_frame = 240, 1
    assert s._frame_interval() == (8, 8 / 240)
    s.tps, s.ticks_per_frame = 10, 5
    assert s._frame_interval() == (5, 0.5)


def test_watchdog_evicts_a_viewer_stuck_in_a_send() -> None:
    async def go() -> None:
        settings = Settings(send_timeout_s=0.2)
        hub = Hub(settings)
        s = make_session(settings)
        hub.sessions[s.id] = s
        v = viewer(s, FakeSocket(block=True))
        s.viewers.append(v)
        v.push({"type": "status"})
        v.sender = asyncio.create_task(v.run_sender())
        hub.ensure_watchdog()
        for _ in range(40):
            if v.sender.done():
                break
            await asyncio.sleep(0.05)
        assert v.sender.done() and v.closed
        await hub.close()

    asyncio.run(go())


def test_an_event_burst_is_counted_not_converted() -> None:
    async def go() -> None:
        s = make_session()
        v = viewer(s)
        s.viewers.append(v)
        await s._in_thread(lambda: s.run.apply(AllocAction(order=0, count=1)))
        from simcore.events import ActionApplied

        s.run.pending_events.extend(ActionApplied(0, "x", str(i)) for i in range(5000))
        await s._in_thread(lambda: None)
        assert s.latest is not None and s.latest.events_lost == 5000 - 2000
        v.slot = None
        _, text, _ = s.frame_messages(s.latest, v)
        m = json.loads(text)
        # it also missed the first publication (the alloc's own event): 5001 events, 200 sent
        assert len(m["events"]) == 200 and m["events_dropped"] == 5001 - 200
        assert m["events"][-1]["text"] == "action=x detail=4999"

    asyncio.run(go())


def test_a_failing_handler_is_reported_and_the_session_keeps_serving() -> None:
    from app.messages import parse_message

    async def go() -> None:
        s = make_session()
        v = viewer(s)
        s.viewers.append(v)

        def broken(action: object) -> str:
            raise RuntimeError("handler bug")

        s.run.sim.handlers["alloc"] = broken
        await s._command(v, parse_message({"type": "action", "action": {"type": "alloc"}}))
        err = json.loads(v.control[-1])
        assert err == {"type": "error", "message": "action: internal error (RuntimeError)"}
        await s._command(v, parse_message({"type": "step"}))
        assert json.loads(v.control[-1])["type"] == "status" and s.tick == 1

    asyncio.run(go())


def test_the_same_frame_in_a_new_lens_does_not_repeat_its_events() -> None:
    async def go() -> None:
        s = make_session()
        v = viewer(s)
        s.viewers.append(v)
        await s._in_thread(lambda: s.run.apply(AllocAction(order=1, count=1)))
        assert s.latest is not None
        v.slot = None
        _, first, _ = s.frame_messages(s.latest, v)
        assert [e["name"] for e in json.loads(first)["events"]] == ["action"]
        v.lens = "free"
        _, again, shared = s.frame_messages(s.latest, v)
        assert json.loads(again)["events"] == [] and json.loads(again)["lens"] == "free" and not shared

    asyncio.run(go())
