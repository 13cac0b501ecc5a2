"""Logs: a container's output (Docker), a libvirt guest's hypervisor log (a file on the
host, read here or over the host's SSH connection), and container CPU/memory stats.

Stats have no events: like libvirt's CPU time they are sampled from the upkeep thread,
one-shot (`stats(stream=False, one_shot=True)`: an answer at once, not after Docker's own
1-2 s second sample), a few containers per round so a host with hundreds of them costs
the daemon a handful of calls every STATS_EVERY seconds, not hundreds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuivirt.errors import GuestError
from tuivirt.model import DOCKER, Guest, GuestState
from tuivirt.session.core import SessionCore

if TYPE_CHECKING:
    from tuivirt.backends.docker import DockerEndpoint
    from tuivirt.backends.logs import LogOptions, LogSource

#: Containers sampled per upkeep round (every STATS_EVERY s): all of them when there are
#: at most this many, else in turns (each then updates every len/STATS_PER_ROUND rounds).
STATS_PER_ROUND = 8
_MIB = 1024 * 1024


class Logs(SessionCore):
    """Opening a guest's log; sampling its containers' CPU and memory."""

    _stats_turn: int = 0  # where the next round of container stats starts
    #: container id -> (CPU ns, host CPU ns) at its last sample
    _container_stats: dict[str, tuple[int, int]] | None = None

    def open_logs(self, guest: Guest, options: LogOptions) -> LogSource:
        """The guest's log as a byte stream (blocking to open, bounded by the timeout)."""
        from tuivirt.backends.logs import DockerLogs, open_hypervisor_log

        self.ensure_connected()
        if guest.kind == DOCKER:
            docker = self.docker
            if docker is None or docker.api is None:
                raise self._not_connected(self.host.docker or "docker")
            api = docker.api
            return self._deadline(docker.endpoint).run(
                "logs", DockerLogs, api, guest.id, options, host=self.name, name=guest.name)
        if self.host.demo:
            raise GuestError(self.name, guest.name, "the demo host (libvirt's test "
                             "driver) keeps no hypervisor log")
        if self.tunnel is not None:
            if not self.tunnel.connected:
                raise self._not_connected("ssh")
            return open_hypervisor_log(self.name, guest.kind, guest.name, options,
                                       tunnel=self.tunnel, timeout=self.timeout)
        if not self._local:
            raise GuestError(self.name, guest.name, "its hypervisor log is on a machine "
                             "tuivirt reaches without SSH of its own: give the host "
                             "`ssh = ...` in the config to read it")
        return open_hypervisor_log(self.name, guest.kind, guest.name, options)

    # -- container stats ------------------------------------------------------------------
    def _sample_containers(self, endpoint: DockerEndpoint) -> bool:
        """CPU % and memory of a few running containers (the upkeep thread). False when
        none runs (nothing was asked of the daemon)."""
        running = sorted((g for g in self.inventory.guests(self.name)
                          if g.kind == DOCKER and g.state == GuestState.RUNNING),
                         key=lambda g: g.id)
        if not running:
            self._container_stats = {}
            return False
        turn = self._stats_turn
        count = min(len(running), STATS_PER_ROUND)
        chosen = [running[(turn + i) % len(running)] for i in range(count)]
        self._stats_turn = (turn + count) % max(1, len(running))
        if self._container_stats is None:
            self._container_stats = {}
        samples = self._container_stats
        for guest in chosen:
            stats = endpoint.stats(guest.id)
            self._answered(endpoint.endpoint)  # the daemon answered: not stale
            if stats is None:
                continue
            cpu = stats.get("cpu_stats") or {}
            total = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)
            system = int(cpu.get("system_cpu_usage") or 0)
            online = int(cpu.get("online_cpus") or 0) or len(
                (cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
            before = samples.get(guest.id)
            samples[guest.id] = (total, system)
            percent: float | None = guest.cpu_percent
            if before is not None and system > before[1]:
                # Of the host's CPUs, then of the container's own limit: as a VM's CPU %
                # is of its vCPUs (docker stats would say 100 % per busy CPU).
                share = (total - before[0]) / (system - before[1]) * online
                limit = guest.vcpus or online
                percent = float(round(min(100.0, max(0.0, 100 * share / limit))))
            used = _memory_used(stats.get("memory_stats") or {})
            fresh = self.inventory.find_id(self.name, guest.id) or guest
            changed = fresh.replace(cpu_percent=percent, memory_used_mib=used)
            if changed != fresh:
                self.inventory.upsert(changed)
        gone = set(samples) - {g.id for g in running}
        for cid in gone:
            samples.pop(cid, None)
        return True


def _memory_used(memory: dict[str, object]) -> int | None:
    """In MiB, as `docker stats` counts it: usage less the inactive page cache."""
    usage = memory.get("usage")
    if not isinstance(usage, int):
        return None
    detail = memory.get("stats") or {}
    cache = 0
    if isinstance(detail, dict):
        cache = int(detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0)
    return max(0, usage - cache) // _MIB
