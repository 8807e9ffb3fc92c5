"""Overcommit: CommitLimit by hand; modes 0, 1 and 2; Committed_AS; ENOMEM while memory is free."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.overcommit import Overcommit, commit_limit


def test_commit_limit_by_hand() -> None:
    # 256 MiB RAM (65536 pages), ratio 50, 64 MiB swap (16384): 32768 + 16384 = 49152 pages (196608 kB)
    assert commit_limit(65536, 50, 16384) == 49152
    assert commit_limit(65536, 100, 0) == 65536
    assert commit_limit(1001, 50, 0) == 500  # integer division, as the kernel


def test_reserves_default_to_one_32nd_of_free_capped() -> None:
    oc = Overcommit(2, 50, 65536, 0, 65536, None, None)
    # free 262144 kB / 32 = 8192 kB: admin cap 8192 kB; user min(8192, 131072) = 8192 kB
    assert (oc.admin_reserve_kbytes, oc.user_reserve_kbytes) == (8192, 8192)


def test_mode_2_by_hand() -> None:
    oc = Overcommit(2, 50, 65536, 0, 65536, admin_reserve_kbytes=8192, user_reserve_kbytes=131072)
    # allowed = 32768 - 2048 (admin reserve, unprivileged) - min(total_vm / 32, 32768)
    assert oc.vm_enough_memory(20000, cap_sys_admin=False, total_vm=20000) == ""  # 20000 < 32768-2048-625
    assert oc.committed == 20000
    # +10000: 30000 >= 32768 - 2048 - 937 = 29783 -> refused and uncharged
    assert oc.vm_enough_memory(10000, False, 30000).startswith("overcommit_memory=2")
    assert oc.committed == 20000 and oc.refused == 1
    # root gets the admin reserve: 30000 < 32768 - 937 = 31831
    assert oc.vm_enough_memory(10000, True, 30000) == ""
    assert oc.committed == 30000


def test_modes_0_and_1() -> None:
    guess = Overcommit(0, 50, 65536, 1000, 65536, None, None)
    assert guess.vm_enough_memory(66536, False, 0) == ""  # exactly RAM + swap
    assert guess.vm_enough_memory(66537, False, 0).startswith("overcommit_memory=0")
    always = Overcommit(1, 50, 65536, 0, 65536, None, None)
    assert always.vm_enough_memory(10**7, False, 0) == "" and always.committed == 10**7


def test_strict_accounting_refuses_while_memory_sits_free() -> None:
    procs = [{"comm": "jvm", "virt_pages": 3000, "anon_pages": 300},
             {"comm": "app", "anon_pages": 2000, "rate": 200, "start_tick": 5}]
    sim = pressure_sim({"overcommit": {"mode": 2, "ratio": 50}, "processes": procs})
    hub = hub_of(sim)
    sim.run_until(40)
    app = hub.tasks.tasks[1]
    assert app.enomem > 0 and hub.tasks.anon_rss(app) < 2000
    # refused although well over half of RAM is free: the waste strict mode costs
    assert hub.refusals and min(free for _, free, _ in hub.refusals) > sim.node.managed_pages // 2
    assert hub.commit.committed <= hub.commit.commit_limit
