"""Overcommit accounting: `__vm_enough_memory()`, CommitLimit and Committed_AS (mm/util.c).

Mode 0 (OVERCOMMIT_GUESS) refuses only a single request larger than RAM + swap; mode 1
(OVERCOMMIT_ALWAYS) never refuses; mode 2 (OVERCOMMIT_NEVER) refuses once Committed_AS would
reach CommitLimit = RAM * overcommit_ratio / 100 + swap, less the admin reserve (for unprivileged
tasks) and a user reserve of min(total_vm / 32, user_reserve). Every charge is counted in
Committed_AS whatever the mode, as `vm_acct_memory()` does.
"""

from __future__ import annotations

from simcore.constants import PAGE_SHIFT

#: SZ_8K and SZ_128K kB: the caps of init_admin_reserve() / init_user_reserve()
ADMIN_RESERVE_CAP_KB = 1 << 13
USER_RESERVE_CAP_KB = 1 << 17


def commit_limit(totalram_pages: int, ratio: int, swap_pages: int) -> int:
    """Models `vm_commit_limit()` (overcommit_kbytes unset, no hugetlb): pages."""
    return totalram_pages * ratio // 100 + swap_pages


class Overcommit:
    def __init__(
        self,
        mode: int,
        ratio: int,
        totalram: int,
        swap_pages: int,
        free_pages: int,
        admin_reserve_kbytes: int | None,
        user_reserve_kbytes: int | None,
    ) -> None:
        self.mode = mode
        self.ratio = ratio
        self.totalram = totalram
        self.swap_pages = swap_pages
        free_kb = free_pages << (PAGE_SHIFT - 10)
        # init_admin_reserve() / init_user_reserve(): 1/32 of free memory, capped
        self.admin_reserve_kbytes = (
            min(free_kb // 32, ADMIN_RESERVE_CAP_KB) if admin_reserve_kbytes is None else admin_reserve_kbytes
        )
        self.user_reserve_kbytes = (
            min(free_kb // 32, USER_RESERVE_CAP_KB) if user_reserve_kbytes is None else user_reserve_kbytes
        )
        self.committed = 0  # Committed_AS, pages
        self.refused = 0

    @property
    def commit_limit(self) -> int:
        return commit_limit(self.totalram, self.ratio, self.swap_pages)

    def vm_enough_memory(self, pages: int, cap_sys_admin: bool, total_vm: int) -> str:
        """Models `__vm_enough_memory()`: charge `pages`; "" if allowed, else why not (and uncharged)."""
        self.committed += pages  # vm_acct_memory()
        if self.mode == 1:
            return ""
        if self.mode == 0:
            if pages <= self.totalram + self.swap_pages:
                return ""
            reason = f"overcommit_memory=0: {pages} pages > RAM + swap"
        else:
            allowed = self.commit_limit
            if not cap_sys_admin:
                allowed -= self.admin_reserve_kbytes >> (PAGE_SHIFT - 10)
            allowed -= min(total_vm // 32, self.user_reserve_kbytes >> (PAGE_SHIFT - 10))
            if self.committed < allowed:
                return ""
            reason = f"overcommit_memory=2: Committed_AS {self.committed} >= {allowed} allowed"
        self.committed -= pages  # vm_unacct_memory()
        self.refused += 1
        return reason

    def unacct(self, pages: int) -> None:
        self.committed -= pages
