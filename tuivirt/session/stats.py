"""CPU usage (no events carry it: sampled) and full relisting."""

from __future__ import annotations

import time

from tuivirt.backends.libvirt import LibvirtEndpoint
from tuivirt.session.core import SessionCore
from tuivirt.session.events import Endpoint


class Stats(SessionCore):
    """Sampling and relisting: the periodic reads of a host's endpoints."""

    def _sample_cpu(self, endpoint: LibvirtEndpoint) -> bool:
        """CPU usage of running domains since the last sample, as % of their vCPUs.

        False when the driver keeps no CPU statistics (nothing was asked of the daemon).
        """
        if endpoint.endpoint in self._no_cpu_stats:
            return False
        now = time.monotonic_ns()
        times = endpoint.cpu_times()
        if times is None:
            self._no_cpu_stats.add(endpoint.endpoint)
            return False
        self._answered(endpoint.endpoint, (time.monotonic_ns() - now) / 1e9)
        samples = {uuid: (now, cpu) for uuid, cpu in times.items()}
        before = self._cpu_samples.get(endpoint.endpoint, {})
        self._cpu_samples[endpoint.endpoint] = samples
        for uuid, cpu in times.items():
            previous = before.get(uuid)
            guest = self.inventory.find_id(self.name, uuid)
            if previous is None or guest is None or not guest.vcpus:
                continue
            elapsed = now - previous[0]
            if elapsed <= 0:
                continue
            percent = float(round(100 * (cpu - previous[1]) / elapsed / guest.vcpus))
            percent = min(100.0, max(0.0, percent))
            if guest.cpu_percent != percent:
                self.inventory.upsert(guest.replace(cpu_percent=percent))
        return True

    def _probe(self, endpoint: Endpoint) -> None:
        """Ask the daemon something small (bounded); its round trip is the latency."""
        started = time.perf_counter()
        endpoint.probe()
        self._answered(endpoint.endpoint, time.perf_counter() - started)

    def refresh(self) -> None:
        """Full relisting of every connected endpoint (the fallback under events)."""
        endpoints: list[Endpoint] = [*self.libvirt, *([self.docker] if self.docker else [])]
        for endpoint in endpoints:
            self.inventory.replace_endpoint(self.name, endpoint.endpoint,
                                            endpoint.list_guests())
