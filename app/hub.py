"""The hub: every live session of this process, the caps on sessions and viewers, the send watchdog,
and the expiry of sessions nobody watches.

A session (app/live_session.py) is created by the first viewer's connection and started by the hub;
viewers join with its id. When the last viewer leaves, the session is paused and kept
`session_linger_s` for viewers who rejoin, then closed; when the cap on sessions is reached, the
oldest idle one is closed to make room. The watchdog evicts a viewer whose send has been stuck for
`send_timeout_s`, so one stalled socket never holds a session's frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from app.live_session import LiveSession
from app.rooms import Rooms
from app.settings import Settings
from app.shared_keyframes import SharedKeyframes
from app.simrun import SimRun
from simcore import Scenario, ScenarioError

log = logging.getLogger("zonescope.hub")


class ServerFull(Exception):
    """No room for another session or viewer (close 1013)."""


class Hub:
    """Every session of this process, with the caps on sessions and viewers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, LiveSession] = {}
        #: classrooms: stable ids that follow the presenter's runs (app/rooms.py)
        self.rooms = Rooms(2 * settings.max_sessions)
        #: keyframes of every run here, for links and Detach (app/shared_keyframes.py)
        self.shared = SharedKeyframes(settings.shared_keyframe_mib << 20)
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

    def join(self, session_id: str) -> LiveSession:
        """A live session a follower joins (checked for room)."""
        found = self.sessions.get(session_id)
        if found is None or found.closed:
            raise ScenarioError("session: no such session (it may have ended)")
        self.check_room(False)
        return found

    async def create(self, scenario: Scenario, start_tick: int, preset: str | None) -> LiveSession:
        self.check_room(True)
        st = self.settings
        run = await asyncio.to_thread(SimRun, scenario, st.max_ff_work, st.keyframe_every,
                                      st.keyframe_memory_mib << 20, self.shared)
        if start_tick > 0:
            kf = self.shared.nearest(scenario, start_tick)
            if kf is not None:
                await asyncio.to_thread(run.start_from, kf)
        self.check_room(True)
        sid = secrets.token_urlsafe(9)
        session = LiveSession(sid, run, start_tick, preset, self.settings, self._idle)
        self.sessions[sid] = session
        return session

    def start(self, session: LiveSession) -> None:
        session.producer = asyncio.create_task(session.run_producer(), name=f"producer-{session.id}")

    def _idle(self, session: LiveSession) -> None:
        """The last viewer left: pause the run (kept for rejoining viewers) and expire it later."""
        loop = asyncio.get_running_loop()
        session.playing = False
        session.idle_since = loop.time()
        if session.linger is not None:
            session.linger.cancel()
        session.linger = loop.call_later(self.settings.session_linger_s, self._expire, session)

    def _expire(self, session: LiveSession) -> None:
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
