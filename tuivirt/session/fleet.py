"""Every host session of a config, connected in parallel."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable

from tuivirt.config import Config
from tuivirt.errors import (
    HostError,
    TuivirtError,
    unknown_host,
)
from tuivirt.inventory import Inventory
from tuivirt.model import HostState
from tuivirt.session.core import budget_period
from tuivirt.session.host import HostSession

#: How often the fleet looks at every host's staleness and latency (seconds).
CLOSE_WAIT = 5.0  # s: the most closing every host may hold up the caller (a hung one)
HEALTH_EVERY = 1.0


class Fleet:
    """Every host session of a config, connected in parallel."""

    def __init__(self, config: Config, *, live: bool = False,
                 inventory: Inventory | None = None) -> None:
        self.config = config
        self.inventory = inventory or Inventory()
        self.sessions = {h.name: HostSession(h, self.inventory, timeout=config.timeout,
                                             live=live) for h in config.hosts}
        # The fleet's probe budget shared out: a big fleet probes each host less often.
        for session in self.sessions.values():
            session.probe_every = budget_period(len(self.sessions))
        self._closed = threading.Event()
        self._watch: threading.Thread | None = None
        if any(h.ssh is not None for h in config.hosts):
            from tuivirt.backends.ssh import set_handshake_limit

            set_handshake_limit(config.ssh_handshakes)

    @property
    def all_heavy(self) -> bool:
        """Every host connects over SSH or to Docker: nothing quick to show first, so
        nothing should wait for it (the UI's gate)."""
        return all(s.heavy for s in self.sessions.values())

    def session(self, name: str) -> HostSession:
        try:
            return self.sessions[name]
        except KeyError:
            raise TuivirtError(unknown_host(name, self.sessions)) from None

    def connect(self, names: Iterable[str] | None = None,
                deadline: float | None = None) -> dict[str, str]:
        """Connect the named hosts (all by default) in parallel; {host: error} for failures.

        A host that has not answered by the deadline is reported as timed out; its thread
        is left to finish on its own, so it never delays the others.
        """
        chosen = list(self.sessions) if names is None else list(dict.fromkeys(names))
        # SSH (bounded by the timeout), then the endpoints in parallel (each bounded by
        # it): a host that still has not answered is stuck somewhere we did not foresee.
        budget = deadline if deadline is not None else 2 * self.config.timeout + 2
        outcome: dict[str, str | None] = {}
        # SSH handshakes that a busy server refused are retried until the endpoints'
        # share of the budget (one timeout) is all that is left.
        ssh_deadline = time.monotonic() + max(budget - self.config.timeout - 1,
                                              min(budget, self.config.timeout))

        def connect(name: str) -> None:
            try:
                self.sessions[name].connect(ssh_deadline)
            except HostError as exc:
                outcome[name] = exc.message
            except Exception as exc:  # a bug or an unexpected library error: report it
                outcome[name] = f"{type(exc).__name__}: {exc}"
            else:
                outcome[name] = None

        # Plain daemon threads: one that hangs on a dead host is simply left behind.
        threads = {name: threading.Thread(target=connect, args=(name,), daemon=True,
                                          name=f"connect-{name}") for name in chosen}
        for thread in threads.values():
            thread.start()
        end = time.monotonic() + budget
        errors: dict[str, str] = {}
        for name, thread in threads.items():
            thread.join(max(0.0, end - time.monotonic()))
            if thread.is_alive():
                errors[name] = f"timed out after {budget:.0f} s (host not answering)"
                self.inventory.set_host(name, HostState.LOST, errors[name])
            elif outcome.get(name) is not None:
                errors[name] = str(outcome[name])
        return errors

    def endpoint_problems(self, names: Iterable[str] | None = None) -> dict[str, list[str]]:
        """{host: [why each endpoint is down]} for hosts that are up with endpoints down."""
        chosen = list(self.sessions) if names is None else list(names)
        problems: dict[str, list[str]] = {}
        for name in chosen:
            session = self.sessions[name]
            if session.reachable:
                down = [st for st in session.endpoint_status.values() if st != "ok"]
                if down:
                    problems[name] = down
        return problems

    def start(self, gate: threading.Event | None = None) -> None:
        for session in self.sessions.values():
            session.start(gate)
        self._watch = threading.Thread(target=self._watch_health, daemon=True,
                                       name="fleet-health")
        self._watch.start()

    def check_health(self, now: float | None = None) -> None:
        """Publish the hosts whose staleness changed or whose latency moved: one diff."""
        changes = [change for session in self.sessions.values()
                   if (change := session.health(now)) is not None]
        if changes:
            self.inventory.set_health(changes)

    def _watch_health(self) -> None:
        """One thread for the whole fleet, on its own clock: a host's upkeep thread may
        sit in a probe of a hung daemon, which is when its staleness must show."""
        while not self._closed.wait(HEALTH_EVERY):
            with contextlib.suppress(Exception):  # a bug here must not end the watch
                self.check_health()

    def close(self) -> None:
        """Close every session, side by side: one by one, 100 SSH hosts took ~0.45 s
        at the end of every `tuivirt list` (each waits for its link's goodbye)."""
        self._closed.set()

        def close_one(session: HostSession) -> None:
            with contextlib.suppress(Exception):
                session.close()

        sessions = list(self.sessions.values())
        if len(sessions) == 1:
            close_one(sessions[0])
            return
        threads = [threading.Thread(target=close_one, args=(s,), daemon=True,
                                    name=f"close-{s.name}") for s in sessions]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + CLOSE_WAIT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
