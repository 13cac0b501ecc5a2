"""`hosts`: reachability, versions and KVM support per host."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tuivirt.cli.common import EXIT_FAILED, EXIT_OK, open_fleet
from tuivirt.cli.output import print_json, print_table
from tuivirt.config import Config


def register(sub: Any) -> None:
    p = sub.add_parser("hosts", help="reachability, versions and KVM support per host")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_hosts)


def cmd_hosts(args: argparse.Namespace, config: Config) -> int:
    fleet = open_fleet(config)
    try:
        fleet.connect()
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(fleet.sessions))) as pool:
            facts = list(pool.map(lambda s: s.facts(), fleet.sessions.values()))
    finally:
        fleet.close()
    hosts = {h.name: h for h in config.hosts}
    if args.json:
        print_json([{**f.to_json(), "source": hosts[f.name].source,
                     "tags": list(hosts[f.name].tags)} for f in facts])
    else:
        rows = [["HOST", "STATE", "LIBVIRT", "HYPERVISORS", "DOCKER", "KVM", "CPU", "SOURCE",
                 "TAGS", "NOTE"]]
        for f in facts:
            kvm = "-" if f.kvm_usable is None else ("usable" if f.kvm_usable else "no")
            rows.append([
                f.name + (" (ro)" if f.read_only else ""), str(f.state),
                f.libvirt_version or "-",
                ",".join(f"{d} {v}" for d, v in f.hypervisors) or "-",
                f.docker_version or "-", kvm, ",".join(f.cpu_virt_flags) or "-",
                hosts[f.name].source or "-", ",".join(hosts[f.name].tags) or "-",
                f.reason])
        print_table(rows, sys.stdout)
    # A host source that could not be read hides its hosts as surely as a host down.
    reachable = all(f.to_json()["reachable"] for f in facts)
    return EXIT_OK if reachable and not config.problems else EXIT_FAILED
