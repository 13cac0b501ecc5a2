"""`tuivirt create lxc` (a system container from a directory on the host) and
`tuivirt create container` (a Docker container from an image, pulled when missing).

Each registers itself under the `create` group's subparsers (register_lxc,
register_container).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tuivirt.cli.common import EXIT_OK, UsageError, check_host, open_fleet
from tuivirt.cli.output import say, warn
from tuivirt.config import Config
from tuivirt.errors import HostError

#: Shown while a pull goes on a terminal: at most this often (the daemon sends ~10 events
#: a second per layer).
PROGRESS_EVERY = 0.2


def register_lxc(create: Any) -> None:
    p = create.add_parser("lxc", help="an LXC system container from a directory on the "
                          "host (a chroot tree)")
    p.add_argument("host", metavar="HOST")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--root", required=True, metavar="DIR",
                   help="the container's root directory, on the host")
    p.add_argument("--init", default="/sbin/init", metavar="PATH",
                   help="the program run as PID 1, inside the root (default /sbin/init)")
    p.add_argument("--memory", default="256M", metavar="SIZE",
                   help="memory limit: 256M (default), 1G, ...")
    p.add_argument("--vcpus", type=int, metavar="N", help="CPUs it may use (default: all)")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--network", metavar="NAME", help="a libvirt network of the host")
    net.add_argument("--bridge", metavar="BR", help="a bridge device of the host")
    net.add_argument("--no-network", action="store_true",
                     help="no interface, only loopback (the default)")
    p.add_argument("--print", action="store_true",
                   help="check, then print the domain XML instead of defining it")
    p.add_argument("--start", action="store_true", help="start it once defined")
    p.set_defaults(func=cmd_create_lxc)


def register_container(create: Any) -> None:
    p = create.add_parser("container", help="a Docker container from an image (pulled "
                          "first when the host lacks it)")
    p.add_argument("host", metavar="HOST")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--image", required=True, metavar="IMAGE", help="e.g. alpine:3.20")
    p.add_argument("--cmd", metavar="COMMAND",
                   help="the command, split as a shell would: --cmd \"sh -c 'sleep 1d'\" "
                        "(default: the image's)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="an environment variable (repeat for more)")
    p.add_argument("--port", action="append", default=[], metavar="HOST:CONTAINER",
                   help="publish a port: 8080:80, 5353:53/udp, 127.0.0.1:8080:80 (repeat)")
    p.add_argument("--volume", action="append", default=[], metavar="SRC:DST[:ro]",
                   help="a host path or named volume mounted at DST (repeat)")
    p.add_argument("--restart", default="no", metavar="POLICY",
                   help="no (default), always, unless-stopped, on-failure[:N]")
    p.add_argument("--start", action="store_true", help="start it once created")
    p.set_defaults(func=cmd_create_container)


def _connect(fleet: Any, host: str) -> Any:
    errors = fleet.connect([host])
    if errors:
        raise HostError(host, errors[host])
    return fleet.session(host)


def cmd_create_lxc(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.create.lxc import LXCSpec, NetKind, NetworkChoice, lxc_xml
    from tuivirt.sizes import SizeError, human_size, parse_size

    check_host(config, args.host)
    try:
        memory = parse_size(args.memory)
    except SizeError as exc:
        raise UsageError(f"--memory: {exc}") from None
    network = NetworkChoice()
    if args.network is not None:
        network = NetworkChoice(NetKind.NETWORK, args.network)
    elif args.bridge is not None:
        network = NetworkChoice(NetKind.BRIDGE, args.bridge)
    spec = LXCSpec(host=args.host, name=args.name, root=args.root, init=args.init,
                   memory=memory, vcpus=args.vcpus, network=network)
    problems = spec.problems()
    if problems:
        raise UsageError("; ".join(problems))
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        if args.print:
            session.check_lxc(spec)
            sys.stdout.write(lxc_xml(spec))
            return EXIT_OK
        guest = session.create_lxc(spec, start=args.start)
    finally:
        fleet.close()
    say(f"{args.host}/{guest.name}: created (lxc, {guest.state}; root {spec.root}, init "
        f"{spec.init}, {human_size(spec.memory)}, {network.describe()})")
    return EXIT_OK


class _ProgressLine:
    """One line redrawn in place on a terminal; nothing at all when stderr is piped."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, status: Any) -> None:
        import time

        from tuivirt.create.container import describe
        from tuivirt.text import inert

        now = time.monotonic()
        if not self.on or now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        text = inert(describe(status))
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def end(self) -> None:
        if self.on and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def cmd_create_container(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.create import container as ct

    check_host(config, args.host)
    try:
        spec = ct.ContainerSpec(
            host=args.host, name=args.name, image=args.image,
            command=ct.parse_command(args.cmd) if args.cmd is not None else None,
            env=tuple(ct.parse_env(e) for e in args.env),
            ports=tuple(ct.parse_port(p) for p in args.port),
            volumes=tuple(ct.parse_volume(v) for v in args.volume),
            restart=ct.parse_restart(args.restart))
    except ct.SpecError as exc:
        raise UsageError(str(exc)) from None
    problems = spec.problems()
    if problems:
        raise UsageError("; ".join(problems))
    progress = _ProgressLine()
    pulls: list[Any] = []
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        try:
            guest = session.create_container(spec, start=args.start,
                                             on_progress=progress, on_pull=pulls.append)
        except KeyboardInterrupt:
            progress.end()
            if pulls:  # ctrl+c during the pull: the daemon stops it; nothing was made
                pulls[0].cancel()
                warn(f"cancelled: the pull of {ct.with_defaults(spec).image} was stopped; "
                     "nothing was created")
                return 130
            raise
        finally:
            progress.end()
    finally:
        fleet.close()
    if pulls:
        say(f"{args.host}: pulled {guest.image}")
    details = [f"image {guest.image}"]
    details += [f"port {p}" for p in spec.ports]
    details += [f"volume {v}" for v in spec.volumes]
    if spec.env:
        details.append(f"{len(spec.env)} env")
    details.append(f"restart {spec.restart}")
    say(f"{args.host}/{guest.name}: created (docker, {guest.state}; {', '.join(details)})")
    return EXIT_OK
