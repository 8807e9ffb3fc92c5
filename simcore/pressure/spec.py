"""Scenario and action models for the pressure subsystem (the `[pressure]` table of a scenario).

Everything defaults to "off", so a scenario without a `[pressure]` table behaves exactly as before.
Pages are 4 KiB pages; ticks are the scenario's ticks (`tick_ms` each).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Pages = Annotated[int, Field(ge=0, le=1 << 24)]
Ticks = Annotated[int, Field(ge=0, le=1_000_000)]
Comm = Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9_.-]+$")]

#: The notifications a process can react to.
NotifyName = Literal[
    "about_to_swap",
    "about_to_oom",
    "sigdanger",
    "lowmem_low",
    "lowmem_high",
    "mem_notify",
    "vmpressure_low",
    "vmpressure_medium",
    "vmpressure_critical",
    "psi",
]
NOTIFY_NAMES: tuple[str, ...] = NotifyName.__args__  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReactionSpec(_Model):
    """What a process does when it receives notification `on`."""

    on: NotifyName = Field(description="the notification that triggers it")
    do: Literal["free_cache", "gc", "exit", "restart", "ignore"] = Field(
        default="free_cache", description="give back cache / GC slack, exit, exit and restart, or nothing"
    )
    percent: Annotated[int, Field(ge=1, le=100, description="share of the cache (or GC slack) to free")] = 50
    within_ticks: Annotated[int, Field(ge=1, le=10_000, description="spread the freeing over K ticks")] = 10
    madvise: Literal["dontneed", "free"] = Field(default="dontneed", description="how the pages go back")
    cooldown_ticks: Annotated[
        int,
        Field(
            ge=0,
            le=100_000,
            description="ignore it again (and do not regrow what was given back) for this long",
        ),
    ] = 100


class ProcessSpec(_Model):
    """A simulated application: memory it grows to, how fast, and how it reacts to notifications."""

    comm: Comm = Field(description="process name (a restart keeps it, with a new pid)")
    anon_pages: Pages = Field(default=0, description="anonymous working memory it grows to")
    cache_pages: Pages = Field(default=0, description="an application cache it can give back")
    heap_slack_pages: Pages = Field(default=0, description="malloc- or JVM-held garbage a GC returns")
    file_pages: Pages = Field(default=0, description="mapped page cache it reads")
    file_working_set: Pages = Field(default=0, description="file pages it keeps using (reclaim rotates them)")
    anon_working_set: Pages = Field(default=0, description="anon pages it keeps touching (not swapped out)")
    rate: Annotated[int, Field(ge=1, le=100_000, description="pages touched per tick while growing")] = 100
    virt_pages: Pages = Field(default=0, description="virtual memory it reserves at start and never touches")
    start_tick: Ticks = Field(default=0, description="tick it starts at")
    exit_tick: Ticks | None = Field(default=None, description="tick it exits at (its first run only)")
    oom_score_adj: Annotated[int, Field(ge=-1000, le=1000, description="/proc/PID/oom_score_adj")] = 0
    privileged: bool = Field(default=False, description="CAP_SYS_ADMIN: admin reserve, no lowmem deny")
    sigdanger_handler: bool = Field(default=False, description="AIX: handles SIGDANGER, so npskill spares it")
    psi_trigger: str | None = Field(default=None, description='"some|full <stall us> <window us>"')
    restart_delay_ticks: Annotated[int, Field(ge=1, le=100_000, description="a restart waits this long")] = 50
    reactions: Annotated[
        list[ReactionSpec], Field(max_length=12, description="its answers to notifications")
    ] = []

    @field_validator("psi_trigger")
    @classmethod
    def _psi(cls, v: str | None) -> str | None:
        if v is not None:
            parse_psi_trigger(v)
        return v


def parse_psi_trigger(line: str) -> tuple[str, int, int]:
    """Parse a /proc/pressure/memory trigger line as `psi_trigger_create()` does."""
    parts = line.split()
    if len(parts) != 3 or parts[0] not in ("some", "full") or not (parts[1].isdigit() and parts[2].isdigit()):
        raise ValueError(f"psi trigger {line!r}: expected 'some|full <stall us> <window us>'")
    stall, window = int(parts[1]), int(parts[2])
    if not 500_000 <= window <= 10_000_000:
        raise ValueError(f"psi trigger window {window} us: must be 500000..10000000")
    if stall == 0 or stall > window:
        raise ValueError(f"psi trigger threshold {stall} us: must be 1..window")
    return parts[0], stall, window


class OvercommitSpec(_Model):
    mode: Literal[0, 1, 2] = Field(default=0, description="vm.overcommit_memory: 0 guess, 1 always, 2 never")
    ratio: Annotated[int, Field(ge=0, le=1000, description="vm.overcommit_ratio (%)")] = 50
    admin_reserve_kbytes: Annotated[
        int | None, Field(ge=0, le=1 << 26, description="default: as the kernel computes it at boot")
    ] = None
    user_reserve_kbytes: Annotated[
        int | None, Field(ge=0, le=1 << 26, description="default: as the kernel computes it at boot")
    ] = None


class OomSpec(_Model):
    enabled: bool = Field(default=True, description="false: out_of_memory() never kills")
    reaper_delay_ms: Annotated[int, Field(ge=0, le=60_000, description="the OOM reaper's delay")] = 2000
    notifier_pages: Pages = Field(default=0, description="a balloon a registered OOM notifier can deflate")
    notifier_batch: Annotated[int, Field(ge=1, le=1 << 20, description="pages given back per OOM call")] = 256


class ReclaimSpec(_Model):
    kswapd: bool = Field(default=True, description="false: only direct reclaim")
    swappiness: Annotated[int, Field(ge=0, le=200, description="vm.swappiness")] = 60
    kswapd_pages_per_tick: Annotated[int, Field(ge=32, le=1 << 20, description="kswapd's scan budget")] = 2048
    referenced_percent: Annotated[int, Field(ge=0, le=100, description="workload LRU pages in use")] = 25


class ThresholdsSpec(_Model):
    enabled: bool = False
    about_to_swap_percent: Annotated[
        float, Field(ge=0, le=100, description="MemAvailable below this % of RAM")
    ] = 10.0
    about_to_oom_percent: Annotated[
        float, Field(ge=0, le=100, description="MemAvailable + free swap below this % of RAM")
    ] = 4.0


class SigdangerSpec(_Model):
    enabled: bool = False
    npswarn: Pages | None = Field(default=None, description="default max(512, 4 * npskill)")
    npskill: Pages | None = Field(default=None, description="default max(64, swap pages / 128)")
    kill_policy: Literal["largest", "youngest"] = Field(
        default="youngest", description="AIX 3: the largest; AIX 4 and later: the youngest"
    )


class LowmemSpec(_Model):
    """Nokia lowmem: loaded when enabled, active once deny, low and high are all non-zero."""

    enabled: bool = False
    notify_low_pages: Pages = Field(default=0, description="level 1 below this estimate")
    notify_high_pages: Pages = Field(default=0, description="level 2 below this estimate")
    deny_pages: Pages = Field(default=0, description="ENOMEM for ordinary tasks below this")
    nr_decay_pages: Pages = Field(default=0, description="level 2 clears only above notify_high_pages + this")

    @model_validator(mode="after")
    def _order(self) -> LowmemSpec:
        pages = (self.deny_pages, self.notify_high_pages, self.notify_low_pages)
        if all(pages) and not pages[0] <= pages[1] <= pages[2]:
            raise ValueError("lowmem needs deny_pages <= notify_high_pages <= notify_low_pages")
        return self


class MemNotifySpec(_Model):
    enabled: bool = False
    rate_limit_ms: Annotated[int, Field(ge=0, le=60_000, description="at most one event per")] = 200


class VmpressureSpec(_Model):
    enabled: bool = False


class NotifySpec(_Model):
    thresholds: ThresholdsSpec = ThresholdsSpec()
    sigdanger: SigdangerSpec = SigdangerSpec()
    lowmem: LowmemSpec = LowmemSpec()
    mem_notify: MemNotifySpec = MemNotifySpec()
    vmpressure: VmpressureSpec = VmpressureSpec()


class PressureSpec(_Model):
    enabled: bool = Field(default=False, description="install reclaim, the OOM killer and the rest")
    swap_pages: Pages = Field(default=0, description="swap space (0: none)")
    sample_every: Annotated[int, Field(ge=1, le=10_000, description="ticks between chart samples")] = 10
    processes: Annotated[list[ProcessSpec], Field(max_length=32)] = []
    overcommit: OvercommitSpec = OvercommitSpec()
    oom: OomSpec = OomSpec()
    reclaim: ReclaimSpec = ReclaimSpec()
    notify: NotifySpec = NotifySpec()

    @model_validator(mode="after")
    def _unique(self) -> PressureSpec:
        names = [p.comm for p in self.processes]
        if len(names) != len(set(names)):
            raise ValueError("process comm names must be unique")
        return self


# ------------------------------------------------------------------ actions


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DropCachesAction(_Action):
    """echo N > /proc/sys/vm/drop_caches: 1 page cache, 2 reclaimable slab, 3 both."""

    type: Literal["drop_caches"] = "drop_caches"
    value: Literal[1, 2, 3] = 3


class OomScoreAdjAction(_Action):
    """echo VALUE > /proc/PID/oom_score_adj for the process named `comm`."""

    type: Literal["oom_score_adj"] = "oom_score_adj"
    comm: Comm
    value: Annotated[int, Field(ge=-1000, le=1000)]


class KillAction(_Action):
    """kill -KILL: the process exits and its memory is freed."""

    type: Literal["kill"] = "kill"
    comm: Comm


class MadviseAction(_Action):
    """The process gives back `percent` of its cache with madvise(MADV_FREE or MADV_DONTNEED)."""

    type: Literal["madvise"] = "madvise"
    comm: Comm
    advice: Literal["free", "dontneed"] = "free"
    percent: Annotated[int, Field(ge=1, le=100)] = 100
    hold_ticks: Annotated[int, Field(ge=0, le=100_000, description="ticks before it reuses its cache")] = 100


class OvercommitAction(_Action):
    """Set vm.overcommit_memory (and optionally vm.overcommit_ratio) while running."""

    type: Literal["overcommit"] = "overcommit"
    mode: Literal[0, 1, 2]
    ratio: Annotated[int | None, Field(ge=0, le=1000)] = None


class LowmemAction(_Action):
    """Write the /proc/sys/vm/lowmem_* sysctls (loads the LSM if the scenario did not)."""

    type: Literal["lowmem"] = "lowmem"
    notify_low_pages: Pages
    notify_high_pages: Pages
    deny_pages: Pages
    nr_decay_pages: Pages = 0

    @model_validator(mode="after")
    def _order(self) -> LowmemAction:
        pages = (self.deny_pages, self.notify_high_pages, self.notify_low_pages)
        if all(pages) and not pages[0] <= pages[1] <= pages[2]:
            raise ValueError("lowmem needs deny_pages <= notify_high_pages <= notify_low_pages")
        return self
