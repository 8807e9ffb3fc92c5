"""Who does the work: the task and the CPU a trace line names (``<comm>-<pid> [<cpu>]``).

The node keeps the task it is running for (`Node.task`) and stamps it on every event it emits, as
ftrace records `current`. The work is charged as the kernel charges it:

* an allocation (and the direct compaction, direct reclaim and OOM kill inside its slow path) to
  the allocating process: the owner of the stream it allocates for; the workload's kernel-owned
  streams (owner "kernel", pid 0 in the model) to a per-CPU kworker;
* kswapd's reclaim, and its wakeup of kcompactd, to ``kswapd0``; kcompactd's runs and proactive
  compaction to ``kcompactd0``; the OOM reaper's release of a victim to ``oom_reaper``;
* an action (a write to /proc/sys/vm/compact_memory, drop_caches, a sysctl, kill, oom_score_adj)
  to the root shell ``bash`` that wrote it; an action that allocates for an owner (fill, alloc)
  to that owner, a madvise to the process that calls it;
* everything else a tick does outside these (notification checks, PSI averaging) to the kworker.

Pids are fixed, so traces repeat: the kernel threads take the pids they have on this 2-CPU 6.18
VM's boot (oom_reaper 33, kcompactd0 36, kswapd0 45), the kworker and the shell chosen ones
(1001, 1000). The model's processes keep the model's own pids (1, 2, ... in creation order).

CPUs: the model has no scheduler; a task runs on CPU ``pid % NR_CPUS`` (NR_CPUS = 2, this VM's
count), except a per-CPU kworker, which runs on its CPU (``kworker/0:1`` on CPU 0). kswapd0 and
kcompactd0 are node 0's threads, and node 0 has both CPUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: CPUs of the modelled machine (this VM's count); one NUMA node holds them all
NR_CPUS: Final = 2


@dataclass(frozen=True, slots=True)
class Task:
    """What ftrace prints of `current`: comm, pid, and the CPU it ran on."""

    comm: str
    pid: int
    cpu: int


def process_task(pid: int, comm: str) -> Task:
    """A task that the scheduler may place anywhere: CPU ``pid % NR_CPUS``."""
    return Task(comm, pid, pid % NR_CPUS)


#: node 0's kernel threads, with their pids on this VM's boot (`ps -eo pid,comm`)
KSWAPD0: Final = process_task(45, "kswapd0")
KCOMPACTD0: Final = process_task(36, "kcompactd0")
OOM_REAPER: Final = process_task(33, "oom_reaper")
#: the per-CPU worker of CPU 0: the kernel's own allocations and the per-tick work of no task
KWORKER: Final = Task("kworker/0:1", 1001, 0)
#: the root shell that writes /proc/sys/vm/compact_memory and the other knobs an action turns
SHELL: Final = process_task(1000, "bash")
#: an event that no node emitted (built by hand): ftrace prints "<...>" for a comm it has not saved
UNKNOWN: Final = Task("<...>", 0, 0)

#: every fixed task, for the check that the model's pids do not meet them
KERNEL_TASKS: Final = (KSWAPD0, KCOMPACTD0, OOM_REAPER, KWORKER, SHELL)
