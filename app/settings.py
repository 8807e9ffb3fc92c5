"""Server settings (environment variables prefixed `ZONESCOPE_`), built by the caller, never at import."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZONESCOPE_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    #: Host header names the server answers to (DNS rebinding); empty: any (`zonescope serve` bound to a
    #: loopback address fills in the loopback names).
    allowed_hosts: list[str] = []
    #: Origins allowed to open the socket; empty: the page's own host only (Origin host == Host header).
    allowed_origins: list[str] = []
    max_sessions: Annotated[int, Field(ge=1, le=1000)] = 16
    max_viewers: Annotated[int, Field(ge=1, le=10000)] = 400
    #: Largest client message (bytes); larger closes the socket with 1008.
    max_message_bytes: Annotated[int, Field(ge=256, le=1 << 20)] = 65536
    #: Control messages per second per socket (token bucket of the same depth); acks of frames in flight
    #: do not count.
    rate_per_s: Annotated[float, Field(gt=0, le=10000)] = 50.0
    #: Frames a viewer may have in flight before its acks come back.
    credit_window: Annotated[int, Field(ge=1, le=16)] = 2
    max_fps: Annotated[float, Field(gt=0, le=240)] = 30.0
    #: Seconds a session lives on after its last viewer left (students can rejoin).
    session_linger_s: Annotated[float, Field(ge=0, le=86400)] = 60.0
    #: A send that does not complete in this time evicts the viewer.
    send_timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    #: Fast-forward / seek cap: target tick x workload.events_per_tick (links and seeks). 6e7 is 30,000
    #: ticks of `default`, about 17 s of the compiled core (2e7 took ~40 s of the pure-Python one).
    max_ff_work: Annotated[int, Field(ge=0, le=200_000_000)] = 60_000_000
    #: The largest node (4 KiB pages) a session may simulate; the CLI runs up to 1 TiB.
    max_node_pages: Annotated[int, Field(ge=1024, le=1 << 28)] = 1 << 24
    #: Keyframes (a cache for backward seeks): one every this many ticks to start with ...
    keyframe_every: Annotated[int, Field(ge=1, le=100_000)] = 10
    #: ... doubled whenever a session's keyframes would take more than this (MiB; 0: no keyframes).
    keyframe_memory_mib: Annotated[int, Field(ge=0, le=65536)] = 256
    #: Keyframes shared by every run of this server (app/shared_keyframes.py): a link or Detach to a
    #: tick some run here has reached starts from the nearest (MiB; 0: none).
    shared_keyframe_mib: Annotated[int, Field(ge=0, le=65536)] = 512
    #: Simulation speed assumed when a refusal says how long a fast-forward would take (events/s).
    sim_events_per_s: Annotated[int, Field(ge=1000, le=1_000_000_000)] = 3_000_000
    #: Wall-clock budget of one fast-forward chunk between progress reports.
    progress_interval_s: Annotated[float, Field(gt=0, le=10)] = 0.25
    #: Per-page cells when the viewed range has at most this many pages.
    per_page_max_pages: Annotated[int, Field(ge=512, le=1 << 20)] = 131072
    followers_control: bool = False
    #: Largest `count` of a live alloc action (each failing request runs the whole slow path).
    max_alloc_count: Annotated[int, Field(ge=1, le=100_000)] = 10_000
