"""Sessions and viewers: one producer task per simulation, one slot + credit window per viewer.

Theory of operation
-------------------
A `Session` owns one `SimRun`. Its producer task is the only code that touches the simulation: it
takes commands from a queue (controls from any viewer's reader task), paces ticks while playing, runs
the simulation work in a worker thread, and publishes each new frame by *offering* it to every viewer.
Offering never awaits: when the viewer holds a credit and its transport accepts data at once (the
fast path of app/wire.py), the frame is written there and then, a non-blocking buffered write;
otherwise it overwrites the viewer's one-frame slot (latest wins; an unsent frame that is overwritten
counts as a drop) and wakes the viewer's sender task. JSON messages other than metrics
(hello, status, progress, proc, errors) go to a small per-viewer queue that is never dropped from.

Each viewer has a sender task and a reader task (the websocket endpoint itself). The sender sends
queued JSON first, then the slot's frame (binary + metrics) when it holds a credit; it spends one
credit per frame, and the browser's `ack` after rendering returns it. A slow viewer therefore sees
fewer frames (sequence gaps) while fast viewers and the producer never wait for it. Every send is
bounded by `send_timeout_s`; a stalled or vanished viewer is evicted.

A published frame is encoded lazily, once per (lens, view) in use, and cached on the `Published`
record, so 300 viewers of one session cost one encoding. Events travel in metrics: each frame knows
the slice of the session's event log it adds; a viewer that skipped frames gets every event since its
last metrics (the newest 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

from app.encoder import LENSES, View, event_json, events_part, metrics_body, metrics_json
from app.messages import ClientMessage, DoAction, Pause, Play, Proc, Reset, Seek, Speed, Step
from app.pressure_view import pressure_part
from app.session import SimRun
from app.settings import Settings
from app.viewer import Published, Viewer, dumps
from simcore.constants import MIGRATETYPE_NAMES, PageKind
from simcore.frame import SKIP_REASONS
from simcore.link import make_token
from simcore.scenario import Scenario, ScenarioError

log = logging.getLogger("zonescope.hub")
EVENT_LOG_KEEP = 4000


def wall_ms() -> float:
    return time.time() * 1000.0


class ServerFull(Exception):
    """No room for another session or viewer (close 1013)."""


class Session:
    def __init__(self, sid: str, run: SimRun, start_tick: int, preset: str | None, settings: Settings,
                 on_idle: Callable[[Session], None]) -> None:
        self.id = sid
        self.run = run
        self.start_tick = start_tick
        self.preset = preset
        self.settings = settings
        self.on_idle = on_idle
        self.nr_pages = run.sim.node.nr_pages
        self.zone_spans = [(z.name, z.start_pfn, z.end_pfn) for z in run.sim.node.zones]
        self.viewers: list[Viewer] = []
        self.commands: asyncio.Queue[tuple[Viewer | None, ClientMessage]] = asyncio.Queue()
        self.playing = False
        self.tps = 30.0
        self.ticks_per_frame = 1
        self.seq = 0
        self.latest: Published | None = None
        self.event_log: list[dict[str, Any]] = []
        self.event_base = 0
        self.share_path = "/s/" + make_token(run.sim.recorded, start_tick)
        self.frame_hash = run.frame_hash
        self.tick = 0
        self.producer: asyncio.Task[None] | None = None
        self.linger: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self.closed = False

    # ----------------------------------------------------------- viewers
    def hello(self, viewer: Viewer) -> dict[str, Any]:
        sim = self.run.sim
        return {
            "type": "hello", "session": self.id, "protocol": 1,
            "scenario": self.run.start_scenario.to_dict() if self.latest is None else sim.recorded.to_dict(),
            "preset": self.preset, "presets": [], "nr_pages": self.nr_pages,
            "zones": [{"name": n, "start_pfn": s, "end_pfn": e} for n, s, e in self.zone_spans],
            "lenses": list(LENSES), "share_path": self.share_path, "playing": self.playing,
            "tps": self.tps, "ticks_per_frame": self.ticks_per_frame,
            "tick": self.tick if self.latest is not None else self.start_tick,
            "role": viewer.role, "frame_hash": self.frame_hash, "skip_reasons": list(SKIP_REASONS),
            "migratetypes": list(MIGRATETYPE_NAMES), "page_kinds": [k.name.lower() for k in PageKind],
            "max_fps": self.settings.max_fps,
            "limits": {"max_message_bytes": self.settings.max_message_bytes,
                       "rate_per_s": self.settings.rate_per_s, "credit_window": self.settings.credit_window,
                       "per_page_max_pages": self.settings.per_page_max_pages},
        }

    def attach(self, viewer: Viewer, hello_extra: dict[str, Any]) -> None:
        if self.linger is not None:
            self.linger.cancel()
            self.linger = None
        self.viewers.append(viewer)
        viewer.push({**self.hello(viewer), **hello_extra})
        if self.latest is not None:
            viewer.push(self.run.history.message())
            viewer.event_cursor = self.latest.event_start
            viewer.offer(self.latest)

    def detach(self, viewer: Viewer) -> None:
        viewer.closed = True
        viewer.wake.set()
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        if not self.viewers and not self.closed:
            self.on_idle(self)

    def reoffer(self, viewer: Viewer) -> None:
        """After a lens / view change: send the latest frame again in the new form."""
        if self.latest is not None:
            viewer.offer(self.latest)

    def frame_messages(self, pub: Published, viewer: Viewer) -> tuple[bytes, str, bool]:
        """The binary frame and metrics text for a viewer, and whether they are the shared ones (they
        are unless the viewer skipped frames and so gets the events it missed)."""
        key = (viewer.lens, viewer.view)
        data, extra = pub.encode(*key)
        since = viewer.event_cursor
        viewer.event_cursor = max(since, pub.event_end)
        if since < pub.event_start:  # it skipped frames: every event since its last metrics
            missed = events_part(self.events_between(since, pub.event_end), pub.events_lost)
            return data, metrics_json(pub.body, pub.seq, {**extra, **missed}), False
        if since >= pub.event_end > pub.event_start:  # the same frame again (a new lens or view)
            return data, metrics_json(pub.body, pub.seq, {**extra, "events": []}), False
        text = pub.metrics_text.get(key)
        if text is None:
            evs = self.events_between(pub.event_start, pub.event_end)
            text = metrics_json(pub.body, pub.seq, {**extra, **events_part(evs, pub.events_lost)})
            pub.metrics_text[key] = text
        return data, text, True

    def events_between(self, start: int, end: int) -> list[dict[str, Any]]:
        lo = max(start, self.event_base) - self.event_base
        return self.event_log[lo : end - self.event_base]

    def broadcast(self, msg: dict[str, Any]) -> None:
        text = dumps(msg)
        for v in self.viewers:
            v.push(text)

    def status(self) -> dict[str, Any]:
        return {"type": "status", "playing": self.playing, "tps": self.tps,
                "ticks_per_frame": self.ticks_per_frame, "tick": self.tick, "share_path": self.share_path,
                "frame_hash": self.frame_hash}

    # ----------------------------------------------------------- producer
    def _build(self, work: Callable[[], object], keys: set[tuple[str, View]], seq: int) -> Published:
        """Worker thread: run `work` on the run, then build and pre-encode the next publication.

        Only the producer calls this, one call at a time, so the run is never touched concurrently.
        """
        work()
        run = self.run
        frame = run.frame
        new = run.take_events()
        lost = max(0, len(new) - EVENT_LOG_KEEP // 2)  # a burst: only the newest are kept as text
        events = [event_json(e) for e in new[lost:]]
        pub = Published(seq, frame, wall_ms(), run.frame_hash, "/s/" + run.share_token(), 0, 0,
                        {**metrics_body(frame), **pressure_part(frame.pressure)},
                        self.settings.per_page_max_pages, events, lost)
        for lens, view in keys:
            pub.encode(lens, view)
        return pub

    async def _in_thread(self, work: Callable[[], object]) -> None:
        keys = {(v.lens, v.view) for v in self.viewers}
        pub = await asyncio.to_thread(self._build, work, keys, self.seq + 1)
        self._publish(pub)

    def _publish(self, pub: Published) -> None:
        self.seq = pub.seq
        pub.event_start = self.event_base + len(self.event_log)
        self.event_log.extend(pub.new_events)
        pub.new_events = []
        if len(self.event_log) > EVENT_LOG_KEEP:
            cut = len(self.event_log) - EVENT_LOG_KEEP // 2
            del self.event_log[:cut]
            self.event_base += cut
        pub.event_end = self.event_base + len(self.event_log)
        self.tick = pub.frame.tick
        self.frame_hash = pub.frame_hash
        self.share_path = pub.share_path
        self.latest = pub
        for v in self.viewers:
            v.offer(pub)

    def _frame_interval(self) -> tuple[int, float]:
        """Ticks per rendered frame and seconds between frames, honouring max_fps."""
        tpf = max(self.ticks_per_frame, math.ceil(self.tps / self.settings.max_fps))
        return tpf, tpf / self.tps

    async def run_producer(self) -> None:
        getter: asyncio.Task[tuple[Viewer | None, ClientMessage]] | None = None
        try:
            if self.start_tick > 0:
                await self._seek(self.start_tick)
            else:
                await self._in_thread(lambda: None)
            loop = asyncio.get_running_loop()
            due = loop.time()
            while not self.closed:
                if getter is None:
                    getter = asyncio.ensure_future(self.commands.get())
                timeout = max(0.0, due - loop.time()) if self.playing else None
                await asyncio.wait({getter}, timeout=timeout)
                if not getter.done():
                    tpf, interval = self._frame_interval()
                    await self._in_thread(functools.partial(self.run.advance, tpf))
                    now = loop.time()
                    due = max(due + interval, now - interval)
                    continue
                viewer, msg = getter.result()
                getter = None
                was_playing = self.playing
                await self._command(viewer, msg)
                if self.playing and not was_playing:
                    due = loop.time()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not take the server down; viewers see the session end
            log.exception("session %s: producer failed", self.id)
            self.broadcast({"type": "error", "message": "session: internal error, the simulation stopped"})
        finally:
            if getter is not None:
                getter.cancel()

    async def _seek(self, target: int) -> None:
        """Fast-forward to `target` (from the nearest keyframe first if it lies behind or a keyframe
        lies on the way), with progress messages."""
        run = self.run
        before = run.tick
        await asyncio.to_thread(run.rewind, target)
        start = run.tick
        budget = self.settings.progress_interval_s
        while run.tick < target:
            await asyncio.to_thread(run.advance, target - run.tick, budget)
            if run.tick < target:
                self.broadcast({"type": "progress", "done": run.tick - start, "total": target - start})
        await self._in_thread(lambda: None)
        self.broadcast(self.status())
        if target > before + 1:  # ticks no viewer saw: the charts' history, gap-free (a page cuts its
            self.broadcast(run.history.message())  # own series when the run goes back)
        await asyncio.to_thread(run.prefill_back)  # paused here: the first step back is a restore

    async def _command(self, viewer: Viewer | None, msg: ClientMessage) -> None:
        run = self.run
        try:
            if isinstance(msg, Play):
                self.playing = True
            elif isinstance(msg, Pause):
                self.playing = False
                await asyncio.to_thread(run.prefill_back)  # the first step back is a restore
            elif isinstance(msg, Speed):
                if msg.tps is not None:
                    self.tps = msg.tps
                if msg.ticks_per_frame is not None:
                    self.ticks_per_frame = msg.ticks_per_frame
            elif isinstance(msg, Step):
                self.playing = False
                if msg.unit == "tick":
                    await asyncio.to_thread(run.keep_extra)  # stepping back again is a restore
                    await self._in_thread(lambda: run.advance(1))
                else:
                    await self._in_thread(run.compaction_step)
            elif isinstance(msg, Reset):
                self.playing = False
                await asyncio.to_thread(run.rebuild, run.start_scenario)
                await self._seek(self.start_tick)
                return
            elif isinstance(msg, Seek):
                self.playing = False
                run.check_target(msg.tick)
                await self._seek(msg.tick)
                return
            elif isinstance(msg, DoAction):
                action = msg.action
                await self._in_thread(lambda: run.apply(action))
            elif isinstance(msg, Proc):
                text = await asyncio.to_thread(run.proc, msg.file)
                if viewer is not None:
                    viewer.push({"type": "proc", "file": msg.file, "text": text})
                return
            else:
                return
        except (ScenarioError, ValueError) as err:
            if viewer is not None:
                viewer.push({"type": "error", "message": str(err)[:1000]})
            return
        except Exception as err:  # a fault in a handler: report it, keep the session serving
            log.exception("session %s: %s failed", self.id, msg.type)
            if viewer is not None:
                text = f"{msg.type}: internal error ({type(err).__name__})"
                viewer.push({"type": "error", "message": text})
            return
        self.broadcast(self.status())

    async def close(self) -> None:
        self.closed = True
        if self.linger is not None:
            self.linger.cancel()
        if self.producer is not None:
            self.producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.producer
        for v in list(self.viewers):
            v.closed = True
            v.wake.set()


class Hub:
    """Every session of this process, with the caps on sessions and viewers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.nr_viewers = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    def ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="send-watchdog")

    async def _watch(self) -> None:
        """Evict viewers whose send has been stuck for longer than send_timeout_s."""
        loop = asyncio.get_running_loop()
        limit = self.settings.send_timeout_s
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            now = loop.time()
            for session in list(self.sessions.values()):
                for v in list(session.viewers):
                    since = v.send_since
                    if since is not None and now - since > limit and v.sender is not None:
                        log.info("session %s: evicting a viewer stuck in a send for %.1f s",
                                 session.id, now - since)
                        v.closed = True
                        v.sender.cancel()

    def check_room(self, new_session: bool) -> None:
        if self.nr_viewers >= self.settings.max_viewers:
            raise ServerFull(f"server full: {self.settings.max_viewers} viewers")
        if new_session and len(self.sessions) >= self.settings.max_sessions:
            idle = [s for s in self.sessions.values() if not s.viewers]
            if not idle:
                raise ServerFull(f"server full: {self.settings.max_sessions} simulations")
            self._expire(min(idle, key=lambda s: s.idle_since))  # make room: the oldest idle one

    async def create(self, scenario: Scenario, start_tick: int, preset: str | None) -> Session:
        self.check_room(True)
        st = self.settings
        run = await asyncio.to_thread(SimRun, scenario, st.max_ff_work, st.keyframe_every,
                                      st.keyframe_memory_mib << 20)
        self.check_room(True)
        sid = secrets.token_urlsafe(9)
        session = Session(sid, run, start_tick, preset, self.settings, self._idle)
        self.sessions[sid] = session
        return session

    def start(self, session: Session) -> None:
        session.producer = asyncio.create_task(session.run_producer(), name=f"producer-{session.id}")

    def _idle(self, session: Session) -> None:
        """The last viewer left: pause the run (kept for rejoining viewers) and expire it later."""
        loop = asyncio.get_running_loop()
        session.playing = False
        session.idle_since = loop.time()
        if session.linger is not None:
            session.linger.cancel()
        session.linger = loop.call_later(self.settings.session_linger_s, self._expire, session)

    def _expire(self, session: Session) -> None:
        if session.viewers or session.closed:
            return
        self.sessions.pop(session.id, None)
        task = asyncio.get_running_loop().create_task(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for s in sessions:
            await s.close()
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
