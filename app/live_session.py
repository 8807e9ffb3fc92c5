"""A live session: one simulation run, the producer task that alone drives it, and the viewers watching.

Theory of operation
-------------------
A `LiveSession` owns one `SimRun` (app/simrun.py). Its producer task is the only code that touches the
simulation: it takes commands from a queue (controls from any viewer's reader task), paces ticks while
playing, runs the simulation work in a worker thread, and publishes each new frame by *offering* it to
every viewer. Offering never awaits: when the viewer holds a credit and its transport accepts data at
once (the fast path of app/wire.py), the frame is written there and then, a non-blocking buffered
write; otherwise it overwrites the viewer's one-frame slot (latest wins; an unsent frame that is
overwritten counts as a drop) and wakes the viewer's sender task. JSON messages other than metrics
(hello, status, progress, proc, errors) go to a small per-viewer queue that is never dropped from.

Each viewer has a sender task and a reader task (the websocket endpoint itself). The sender sends
queued JSON first, then the slot's frame (binary + metrics) when it holds a credit; it spends one
credit per frame, and the browser's `ack` after rendering returns it. A slow viewer therefore sees
fewer frames (sequence gaps) while fast viewers and the producer never wait for it. Every send is
bounded by `send_timeout_s`; a stalled or vanished viewer is evicted (app/hub.py's watchdog).

A published frame is encoded lazily, once per (lens, view) in use, and cached on the `Published`
record, so 300 viewers of one session cost one encoding. Events travel in metrics: each frame knows
the slice of the session's event log (app/event_log.py) it adds; a viewer that skipped frames gets
every event since its last metrics (the newest 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable

from app.encoder import View, event_json, events_part, metrics_body, metrics_json, with_pressure
from app.event_log import EVENT_LOG_KEEP, EventLog
from app.lenses import LENS_NAMES
from app.messages import ClientMessage, DoAction, Pause, Play, Proc, Reset, Seek, Speed, Step
from app.pressure_view import pressure_part
from app.settings import Settings
from app.simrun import SimRun
from app.sources import link_refusal
from app.viewer import Published, Viewer, dumps
from app.vocab import vocabularies
from app.wire_types import (
    EventInfo,
    HelloMsg,
    LinkMsg,
    PresetRef,
    ServerMessage,
    StatusMsg,
    ZoneSpan,
    error_msg,
)
from simcore import ScenarioError, decode_link, make_token

log = logging.getLogger("zonescope.session")
Command = tuple[Viewer | None, ClientMessage]


def wall_ms() -> float:
    return time.time() * 1000.0


class LiveSession:
    def __init__(self, sid: str, run: SimRun, start_tick: int, preset: str | None, settings: Settings,
                 on_idle: Callable[[LiveSession], None]) -> None:
        self.id = sid
        self.run = run
        self.start_tick = start_tick
        self.preset = preset
        self.settings = settings
        self.on_idle = on_idle
        self.nr_pages = run.sim.node.nr_pages
        self.zone_spans: list[ZoneSpan] = [{"name": z.name, "start_pfn": z.start_pfn, "end_pfn": z.end_pfn}
                                           for z in run.sim.node.zones]
        self.viewers: list[Viewer] = []
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.playing = False
        self.tps = 30.0
        self.ticks_per_frame = 1
        self.seq = 0
        self.latest: Published | None = None
        self.event_log = EventLog()
        self.share_path = "/s/" + make_token(run.sim.recorded, start_tick)
        self.frame_hash = run.frame_hash
        self.tick = 0
        self.producer: asyncio.Task[None] | None = None
        self.linger: asyncio.TimerHandle | None = None
        #: the pause of a run whose presenter left while followers watch (session_linger_s later)
        self.unled: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self.closed = False
        #: set by `cancel_seek` (a viewer's cancel, from the event loop); the seek checks it between chunks
        self.cancel_requested = False

    # ----------------------------------------------------------- viewers
    def hello(self, viewer: Viewer, presets: list[PresetRef]) -> HelloMsg:
        sim = self.run.sim
        vocab = vocabularies()
        st = self.settings
        msg: HelloMsg = {
            "type": "hello", "session": self.id, "protocol": 1,
            "scenario": self.run.start_scenario.to_dict() if self.latest is None else sim.recorded.to_dict(),
            "preset": self.preset, "presets": presets, "nr_pages": self.nr_pages,
            "zones": self.zone_spans, "lenses": list(LENS_NAMES), "share_path": self.share_path,
            "playing": self.playing, "tps": self.tps, "ticks_per_frame": self.ticks_per_frame,
            "tick": self.tick if self.latest is not None else self.start_tick,
            "role": viewer.role, "frame_hash": self.frame_hash, "defrag": sim.scenario.defrag,
            "view": {"lens": sim.scenario.view.lens, "pace": sim.scenario.view.pace},
            "skip_reasons": [r["label"] for r in vocab["skip_reasons"]],
            "migratetypes": vocab["migratetypes"], "page_kinds": vocab["page_kinds"],
            "max_fps": st.max_fps,
            "limits": {"max_message_bytes": st.max_message_bytes, "rate_per_s": st.rate_per_s,
                       "credit_window": st.credit_window, "per_page_max_pages": st.per_page_max_pages},
            "vocab": vocab,
        }
        if viewer.room is not None:
            msg["room"] = viewer.room
        return msg

    def attach(self, viewer: Viewer, presets: list[PresetRef]) -> None:
        if self.linger is not None:
            self.linger.cancel()
            self.linger = None
        if viewer.role == "presenter" and self.unled is not None:
            self.unled.cancel()
            self.unled = None
        self.viewers.append(viewer)
        viewer.push(self.hello(viewer, presets))
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
        elif viewer.role == "presenter" and not any(v.role == "presenter" for v in self.viewers):
            # followers only: the run pauses if no presenter comes back within session_linger_s
            if self.unled is not None:
                self.unled.cancel()
            loop = asyncio.get_running_loop()
            self.unled = loop.call_later(self.settings.session_linger_s, self._pause_unled)

    def _pause_unled(self) -> None:
        self.unled = None
        if self.closed or any(v.role == "presenter" for v in self.viewers):
            return
        if self.playing:
            self.playing = False
            self.broadcast(self.status())

    def reoffer(self, viewer: Viewer) -> None:
        """After a lens / view change: send the latest frame again in the new form."""
        if self.latest is not None:
            viewer.offer(self.latest)

    def frame_messages(self, pub: Published, viewer: Viewer) -> tuple[bytes, str, bool]:
        """The binary frame and metrics text for a viewer, and whether they are the shared ones (they
        are unless the viewer skipped frames and so gets the events it missed)."""
        key = (viewer.lens, viewer.view)
        data, info = pub.encode(*key)
        since = viewer.event_cursor
        viewer.event_cursor = max(since, pub.event_end)
        if since < pub.event_start:  # it skipped frames: every event since its last metrics
            missed = events_part(self.events_between(since, pub.event_end), pub.events_lost)
            return data, metrics_json(pub.body, pub.seq, info, missed), False
        if since >= pub.event_end > pub.event_start:  # the same frame again (a new lens or view)
            return data, metrics_json(pub.body, pub.seq, info, {"events": []}), False
        text = pub.metrics_text.get(key)
        if text is None:
            evs = self.events_between(pub.event_start, pub.event_end)
            text = metrics_json(pub.body, pub.seq, info, events_part(evs, pub.events_lost))
            pub.metrics_text[key] = text
        return data, text, True

    def link_message(self) -> LinkMsg:
        """The share link of the latest frame (the tick viewers see), checked as this server would
        check it when opened: a link it would refuse is never handed out as if it worked."""
        pub = self.latest
        path = self.share_path if pub is None else pub.share_path
        scenario, at = decode_link(path.removeprefix("/s/"))
        st = self.settings
        refusal = link_refusal(scenario, at, st.max_ff_work, st.sim_events_per_s, self.run.shared, "link")
        return {"type": "link", "path": path, "tick": at, "refused": refusal or ""}

    def events_between(self, start: int, end: int) -> list[EventInfo]:
        return self.event_log.between(start, end)

    def broadcast(self, msg: ServerMessage) -> None:
        text = dumps(msg)
        for v in self.viewers:
            v.push(text)

    def status(self) -> StatusMsg:
        return {"type": "status", "playing": self.playing, "tps": self.tps,
                "ticks_per_frame": self.ticks_per_frame, "tick": self.tick, "share_path": self.share_path,
                "frame_hash": self.frame_hash, "defrag": self.run.sim.scenario.defrag}

    # ----------------------------------------------------------- publication
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
        body = with_pressure(metrics_body(frame), pressure_part(frame.pressure))
        pub = Published(seq, frame, wall_ms(), run.frame_hash, "/s/" + run.share_token(), 0, 0,
                        body, self.settings.per_page_max_pages, events, lost)
        for lens, view in keys:
            pub.encode(lens, view)
        return pub

    async def _in_thread(self, work: Callable[[], object]) -> None:
        keys = {(v.lens, v.view) for v in self.viewers}
        pub = await asyncio.to_thread(self._build, work, keys, self.seq + 1)
        self._publish(pub)

    def _publish(self, pub: Published) -> None:
        self.seq = pub.seq
        pub.event_start, pub.event_end = self.event_log.extend(pub.new_events)
        pub.new_events = []
        self.tick = pub.frame.tick
        self.frame_hash = pub.frame_hash
        self.share_path = pub.share_path
        self.latest = pub
        for v in self.viewers:
            v.offer(pub)

    # ----------------------------------------------------------- producer
    def _frame_interval(self) -> tuple[int, float]:
        """Ticks per rendered frame and seconds between frames, honouring max_fps."""
        tpf = max(self.ticks_per_frame, math.ceil(self.tps / self.settings.max_fps))
        return tpf, tpf / self.tps

    async def run_producer(self) -> None:
        getter: asyncio.Task[Command] | None = None
        try:
            if self.start_tick > 0:
                await self._seek(self.start_tick, opening=True)
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
            self.broadcast(error_msg("session: internal error, the simulation stopped"))
        finally:
            if getter is not None:
                getter.cancel()

    def cancel_seek(self) -> None:
        """Stop the fast-forward in progress at its next chunk (progress_interval_s at most)."""
        self.cancel_requested = True

    async def _seek(self, target: int, opening: bool = False) -> None:
        """Fast-forward to `target` (from the nearest keyframe first if it lies behind or a keyframe
        lies on the way), with progress messages. It stops early, paused where it got to, when a
        viewer cancels it or when nobody is left to watch it (the work is nobody's any more)."""
        run = self.run
        before = run.tick
        self.cancel_requested = False
        await asyncio.to_thread(run.rewind, target)
        start = run.tick
        budget = self.settings.progress_interval_s
        while run.tick < target:
            if self.cancel_requested or not self.viewers:
                self.broadcast({"type": "progress", "done": run.tick - start, "total": target - start,
                                "cancelled": True})
                break
            await asyncio.to_thread(run.advance, target - run.tick, budget)
            if run.tick < target:
                self.broadcast({"type": "progress", "done": run.tick - start, "total": target - start})
        self.cancel_requested = False
        await self._in_thread(lambda: None)
        self.broadcast(self.status())
        # ticks no viewer saw (or, opening, a run that started from a shared keyframe): the charts'
        # history, gap-free (a page cuts its own series when the run goes back)
        if opening or run.tick > before + 1:
            self.broadcast(run.history.message())
        await asyncio.to_thread(run.prefill_back)  # paused here: the first step back is a restore

    # ----------------------------------------------------------- commands
    async def _command(self, viewer: Viewer | None, msg: ClientMessage) -> None:
        """Run one control; every viewer gets the new status, the sender an error if it failed."""
        try:
            send_status = await self._dispatch(viewer, msg)
        except (ScenarioError, ValueError) as err:
            if viewer is not None:
                viewer.push(error_msg(str(err)[:1000]))
            return
        except Exception as err:  # a fault in a handler: report it, keep the session serving
            log.exception("session %s: %s failed", self.id, msg.type)
            if viewer is not None:
                viewer.push(error_msg(f"{msg.type}: internal error ({type(err).__name__})"))
            return
        if send_status:
            self.broadcast(self.status())

    async def _dispatch(self, viewer: Viewer | None, msg: ClientMessage) -> bool:
        """Returns whether the control changed what `status` says (a seek or reset sends its own)."""
        match msg:
            case Play():
                self.playing = True
            case Pause():
                await self._pause()
            case Speed():
                self._speed(msg)
            case Step():
                await self._step(msg)
            case Reset():
                await self._reset()
                return False
            case Seek():
                self.playing = False
                self.run.check_target(msg.tick, self.settings.sim_events_per_s)
                await self._seek(msg.tick)
                return False
            case DoAction():
                action = msg.action
                await self._in_thread(lambda: self.run.apply(action))
            case Proc():
                await self._proc(viewer, msg)
                return False
            case _:  # per-viewer messages (ack, lens, view, hover) never reach the producer
                return False
        return True

    async def _pause(self) -> None:
        self.playing = False
        await asyncio.to_thread(self.run.prefill_back)  # the first step back is a restore

    def _speed(self, msg: Speed) -> None:
        if msg.tps is not None:
            self.tps = msg.tps
        if msg.ticks_per_frame is not None:
            self.ticks_per_frame = msg.ticks_per_frame

    async def _step(self, msg: Step) -> None:
        self.playing = False
        run = self.run
        if msg.unit == "tick":
            await asyncio.to_thread(run.keep_extra)  # stepping back again is a restore
            await self._in_thread(lambda: run.advance(1))
        else:
            await self._in_thread(run.compaction_step)

    async def _reset(self) -> None:
        self.playing = False
        await asyncio.to_thread(self.run.rebuild, self.run.start_scenario)
        await self._seek(self.start_tick)

    async def _proc(self, viewer: Viewer | None, msg: Proc) -> None:
        text = await asyncio.to_thread(self.run.proc, msg.file)
        if viewer is not None:
            viewer.push({"type": "proc", "file": msg.file, "text": text})

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
