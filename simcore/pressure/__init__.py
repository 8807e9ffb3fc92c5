"""Memory pressure: reclaim, overcommit, the OOM killer, and out-of-memory notifications.

Import `simcore.pressure.install` for the subsystem; `simcore.pressure.spec` holds the scenario and
action models (imported by simcore.scenario and simcore.actions, so this package stays import-light).
"""
