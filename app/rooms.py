"""Rooms: a classroom's stable address, which outlives the presenter's preset changes and reloads.

Theory of operation
-------------------
Every run a presenter starts belongs to a room (`Room`): a short public id, which the follow link
names (``/?room=ID``), and a secret key, which only the presenter's browser holds (hello sends it to
the presenter alone; the page keeps it in local storage and sends it back with ``room=ID&key=K``).

* A follower connects with ``room=ID`` and joins the room's current session.
* The presenter connects with ``room=ID&key=K`` and a preset or link. If the room's session is still
  alive and runs that same source, the presenter re-attaches to it (a reload keeps the run);
  otherwise a new session starts, becomes the room's, and the followers of the old one are told to
  move (a ``moved`` message; their page reconnects to the room within a second and says why).
* A room whose key does not match is refused; an unknown room with a key is re-created under that id
  (a server restart loses rooms, not the presenter's page).

Rooms hold no simulation: at most `cap` are kept, the ones whose session is gone leave first.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from simcore import ScenarioError

#: room ids and keys as they travel in URLs
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")


@dataclass(slots=True)
class Room:
    id: str
    key: str
    session_id: str = ""
    source: str = ""  # what the session runs: "preset:NAME" or "link:TOKEN"


def check_token(value: str, field: str) -> str:
    if not TOKEN_RE.match(value):
        raise ScenarioError(f"{field}: 4 to 64 letters, digits, '-' or '_' (got {value[:40]!r})")
    return value


class Rooms:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.rooms: dict[str, Room] = {}

    def for_presenter(self, room_id: str | None, key: str | None, live: set[str]) -> Room:
        """The room a presenter's connection drives: a new one (no id), or the one `room_id` names
        if `key` is its key (re-created if unknown). `live`: the ids of the live sessions."""
        if room_id is None:
            room = Room(secrets.token_urlsafe(6), secrets.token_urlsafe(18))
        else:
            check_token(room_id, "room")
            check_token(key or "", "key")
            found = self.rooms.get(room_id)
            if found is not None and not secrets.compare_digest(found.key, key or ""):
                raise ScenarioError("room: the key does not match (only the presenter's browser has it)")
            room = found if found is not None else Room(room_id, key or "")
        self._make_room(room.id, live)
        self.rooms[room.id] = room
        return room

    def for_follower(self, room_id: str) -> Room:
        check_token(room_id, "room")
        room = self.rooms.get(room_id)
        if room is None or not room.session_id:
            raise ScenarioError("room: no such room (the presenter has not started it, or it has ended)")
        return room

    def _make_room(self, keep: str, live: set[str]) -> None:
        """Under the cap: rooms whose session is gone leave first, then the oldest."""
        if len(self.rooms) < self.cap or keep in self.rooms:
            return
        dead = [r for r, room in self.rooms.items() if room.session_id not in live]
        for r in (dead or list(self.rooms))[: len(self.rooms) - self.cap + 1]:
            del self.rooms[r]
