"""/proc/meminfo and /proc/pressure/memory, the files a simulation with `[pressure]` adds.

`install()` registers them in the simulation's `proc_files` (`register()`): bound methods of a
`PressureFiles` over the pressure hub, which this module types as a Protocol (it is imported by
`simcore.pressure.install`, never the other way). /proc/meminfo follows fs/proc/meminfo.c
`meminfo_proc_show()` of Linux 6.1 (x86, CONFIG_TRANSPARENT_HUGEPAGE and CONFIG_MEMORY_FAILURE set,
CONFIG_HIGHMEM on x86_32), through FilePmdMapped; the hugetlb and DirectMap lines are left out. Its
numbers are the node's /proc/vmstat state items (so both files agree), the pressure hub's swap and
overcommit accounting and `si_mem_available()`; what is not modelled (buffers, dirty pages, kernel
stacks, vmalloc, per-cpu) prints 0. /proc/pressure/memory is kernel/sched/psi.c `psi_show()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from simcore.constants import PAGE_SHIFT, PAGEBLOCK_NR_PAGES, ZoneType
from simcore.node import Node
from simcore.pressure.meminfo import SwapSpace, si_mem_available
from simcore.pressure.overcommit import Overcommit
from simcore.vmstat import node_vmstat

if TYPE_CHECKING:
    from simcore.host import Host

#: the files this module renders, in the order `zonescope proc` lists them
PROC_FILES = ("meminfo", "pressure/memory")

#: VMALLOC_TOTAL >> 10: 32 TiB - 1 on x86-64 with 4-level page tables; 120 MiB on x86-32 (3G/1G split)
VMALLOC_TOTAL_KB = {"x86_64": 34359738367, "x86_32": 122880}


class PsiState(Protocol):
    def render(self) -> str:
        """/proc/pressure/memory (`simcore.pressure.notify.psi.Psi`)."""
        ...


class PressureState(Protocol):
    """What the files read of the pressure hub (`simcore.pressure.install.Pressure`)."""

    @property
    def node(self) -> Node: ...
    @property
    def swap(self) -> SwapSpace: ...
    @property
    def commit(self) -> Overcommit: ...
    @property
    def psi(self) -> PsiState: ...


def _kb_line(label: str, pages: int) -> str:
    """`show_val_kb()`: the label (16 columns with its colon), pages in kB right-aligned in 8."""
    return f"{label + ':':<16}{pages << (PAGE_SHIFT - 10):8d} kB\n"


class PressureFiles:
    """The renderers, bound to one simulation's pressure hub (so keyframes copy them with it)."""

    def __init__(self, hub: PressureState) -> None:
        self.hub = hub

    def meminfo(self, host: Host) -> str:
        """/proc/meminfo."""
        return meminfo(self.hub)

    def pressure_memory(self, host: Host) -> str:
        """/proc/pressure/memory: `psi_show()`, the "some" and "full" lines."""
        return self.hub.psi.render()


def register(host: Host, hub: PressureState) -> None:
    """Add the files to the simulation's /proc (called by `install()`)."""
    files = PressureFiles(hub)
    host.proc_files["meminfo"] = files.meminfo
    host.proc_files["pressure/memory"] = files.pressure_memory


def meminfo(hub: PressureState) -> str:
    """`meminfo_proc_show()`."""
    node = hub.node
    v = node_vmstat(node)
    sreclaimable, sunreclaim = v["nr_slab_reclaimable"], v["nr_slab_unreclaimable"]
    rows: list[tuple[str, int]] = [
        ("MemTotal", node.managed_pages),
        ("MemFree", node.free_pages),
        ("MemAvailable", si_mem_available(node)),
        ("Buffers", 0),
        ("Cached", v["nr_file_pages"] - v["nr_swapcached"]),
        ("SwapCached", v["nr_swapcached"]),
        ("Active", v["nr_active_anon"] + v["nr_active_file"]),
        ("Inactive", v["nr_inactive_anon"] + v["nr_inactive_file"]),
        ("Active(anon)", v["nr_active_anon"]),
        ("Inactive(anon)", v["nr_inactive_anon"]),
        ("Active(file)", v["nr_active_file"]),
        ("Inactive(file)", v["nr_inactive_file"]),
        ("Unevictable", 0),
        ("Mlocked", 0),
    ]
    if node.arch == "x86_32":
        high = [z for z in node.zones if z.ztype == ZoneType.HIGHMEM]
        total_high = sum(z.managed for z in high)
        free_high = sum(z.free_pages for z in high)
        rows += [
            ("HighTotal", total_high),
            ("HighFree", free_high),
            ("LowTotal", node.managed_pages - total_high),
            ("LowFree", node.free_pages - free_high),
        ]
    rows += [
        ("SwapTotal", hub.swap.total),
        ("SwapFree", hub.swap.free),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", v["nr_anon_pages"]),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", sreclaimable + v["nr_kernel_misc_reclaimable"]),
        ("Slab", sreclaimable + sunreclaim),
        ("SReclaimable", sreclaimable),
        ("SUnreclaim", sunreclaim),
    ]
    text = "".join(_kb_line(label, pages) for label, pages in rows)
    text += f"KernelStack:    {0:8d} kB\n"
    text += "".join(
        _kb_line(label, pages)
        for label, pages in (
            ("PageTables", v["nr_page_table_pages"]),
            ("NFS_Unstable", 0),
            ("Bounce", 0),
            ("WritebackTmp", 0),
            ("CommitLimit", hub.commit.commit_limit),
            ("Committed_AS", hub.commit.committed),
        )
    )
    text += f"VmallocTotal:   {VMALLOC_TOTAL_KB[node.arch]:8d} kB\n"
    text += _kb_line("VmallocUsed", 0) + _kb_line("VmallocChunk", 0) + _kb_line("Percpu", 0)
    text += f"HardwareCorrupted: {0:5d} kB\n"
    thp = v["nr_anon_transparent_hugepages"] * PAGEBLOCK_NR_PAGES
    text += "".join(
        _kb_line(label, pages)
        for label, pages in (
            ("AnonHugePages", thp),
            ("ShmemHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FileHugePages", 0),
            ("FilePmdMapped", 0),
        )
    )
    return text
