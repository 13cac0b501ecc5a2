"""Storage: `pools`, `volumes`, `volume create|resize|delete`, `pool start|stop|...`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tuivirt.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    check_host,
    confirm,
    from_each_host,
    open_fleet,
)
from tuivirt.cli.output import print_json, print_table, say, warn
from tuivirt.config import Config
from tuivirt.errors import GuestError, HostError, TuivirtError
from tuivirt.sizes import SIZE_HELP, SizeError, human_size, parse_size

POOL_ACTIONS = ("start", "stop", "autostart", "refresh")


def register(sub: Any) -> None:
    p = sub.add_parser("pools", help="storage pools of every libvirt host")
    p.add_argument("hosts", nargs="*", metavar="HOST", help="only these hosts")
    p.add_argument("--json", action="store_true", help="JSON array (sizes in bytes)")
    p.set_defaults(func=cmd_pools)

    p = sub.add_parser("volumes", help="a pool's volumes and the guests using each")
    p.add_argument("pool", metavar="HOST/POOL")
    p.add_argument("--json", action="store_true", help="JSON array (sizes in bytes)")
    p.set_defaults(func=cmd_volumes)

    p = sub.add_parser("volume", help="create, resize or delete a volume")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    v = verbs.add_parser("create", help="a new sparse volume in a pool")
    v.add_argument("pool", metavar="HOST/POOL")
    v.add_argument("name", metavar="NAME")
    v.add_argument("--size", required=True, help=SIZE_HELP)
    v.add_argument("--format", default="qcow2", help="qcow2 (default), raw, ...")
    v.add_argument("--backing", metavar="PATH", help="backing file (qcow2 over a base image)")
    v.set_defaults(func=cmd_volume_create)
    v = verbs.add_parser("resize", help="grow a volume (--shrink to shrink it)")
    v.add_argument("volume", metavar="HOST/POOL/NAME")
    v.add_argument("--size", required=True, help=f"the new size: {SIZE_HELP}")
    v.add_argument("--shrink", action="store_true",
                   help="allow a smaller size (what lies past the new end is lost)")
    v.set_defaults(func=cmd_volume_resize)
    v = verbs.add_parser("delete", help="delete a volume no guest uses (asks for its name)")
    v.add_argument("volume", metavar="HOST/POOL/NAME")
    v.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (required when stdin is not a terminal)")
    v.set_defaults(func=cmd_volume_delete)

    p = sub.add_parser("pool", help="start, stop, autostart or refresh a storage pool")
    p.add_argument("action", choices=POOL_ACTIONS)
    p.add_argument("pool", metavar="HOST/POOL")
    p.add_argument("--disable", action="store_true", help="autostart: turn it off")
    p.add_argument("-y", "--yes", action="store_true",
                   help="stop: do not ask (required when stdin is not a terminal)")
    p.set_defaults(func=cmd_pool)


# -- addresses ------------------------------------------------------------------------------
def _split(text: str, parts: int, config: Config) -> list[str]:
    """HOST/POOL (parts 2) or HOST/POOL/NAME (parts 3), the host checked."""
    shape = "HOST/POOL" if parts == 2 else "HOST/POOL/NAME"
    found = text.split("/", parts - 1)
    if len(found) != parts or not all(found):
        raise UsageError(f"{text}: expected {shape}")
    check_host(config, found[0], text)
    return found


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except SizeError as exc:
        raise UsageError(f"--size: {exc}") from None


def _connect(fleet: Any, host: str) -> Any:
    errors = fleet.connect([host])
    if errors:
        raise HostError(host, errors[host])
    return fleet.session(host)


def _unknown_is_usage(exc: GuestError, text: str) -> TuivirtError:
    """An unknown pool or volume is the user's to fix (exit 2); the rest failed (1)."""
    return UsageError(f"{text}: {exc.message}") if exc.missing else exc


# -- listing ----------------------------------------------------------------------------------
def cmd_pools(args: argparse.Namespace, config: Config) -> int:
    for host in args.hosts:
        check_host(config, host)
    names = [h.name for h in config.hosts
             if h.libvirt and (not args.hosts or h.name in args.hosts)]
    fleet = open_fleet(config)
    failed: list[str] = []
    pools = []
    try:
        errors = fleet.connect(names)
        problems = fleet.endpoint_problems(names)
        for host, error in errors.items():
            failed.append(f"host {host}: {error} (its pools are not listed)")
        for host, reasons in problems.items():
            failed += [f"host {host}: {reason} (its pools there are not listed)"
                       for reason in reasons]

        pools = from_each_host(fleet, [h for h in names if h not in errors],
                               lambda session: session.pools(), "pools", failed)
    finally:
        fleet.close()
    for line in failed:
        warn(line)
    if args.json:
        print_json([p.to_json() for p in pools])
    elif pools:
        rows = [["HOST", "NAME", "TYPE", "STATE", "AUTOSTART", "CAPACITY", "ALLOCATION",
                 "AVAILABLE"]]
        for p in pools:
            sizes = ([human_size(p.capacity), human_size(p.allocation),
                      human_size(p.available)] if p.active else ["-", "-", "-"])
            rows.append([p.host, p.name, p.type, "active" if p.active else "inactive",
                         "yes" if p.autostart else "no", *sizes])
        print_table(rows, sys.stdout)
    else:
        warn("no storage pools")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_volumes(args: argparse.Namespace, config: Config) -> int:
    host, pool_name = _split(args.pool, 2, config)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, host)
        try:
            volumes = session.volumes(pool_name)
        except GuestError as exc:
            raise _unknown_is_usage(exc, args.pool) from None
        problems = fleet.endpoint_problems([host]).get(host, [])
    finally:
        fleet.close()
    for reason in problems:  # the guests there are unknown: "used by" may miss some
        warn(f"host {host}: {reason} (guests there are not checked for using a volume)")
    if args.json:
        print_json([v.to_json() for v in volumes])
    elif volumes:
        rows = [["NAME", "FORMAT", "CAPACITY", "ALLOCATION", "USED BY", "PATH"]]
        for v in volumes:
            rows.append([v.name, v.format or "-", human_size(v.capacity),
                         human_size(v.allocation), ",".join(v.used_by) or "-", v.path])
        print_table(rows, sys.stdout)
    else:
        warn(f"{args.pool}: no volumes")
    return EXIT_FAILED if problems else EXIT_OK


# -- changes ----------------------------------------------------------------------------------
def cmd_volume_create(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.session.storage import VOLUME_FORMATS, volume_name_problem

    host, pool_name = _split(args.pool, 2, config)
    capacity = _size(args.size)
    problem = volume_name_problem(args.name)
    if problem is None and args.format not in VOLUME_FORMATS:
        problem = f"unknown format {args.format!r} (one of: {', '.join(VOLUME_FORMATS)})"
    if problem is not None:
        raise UsageError(problem)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, host)
        try:
            volume = session.create_volume(pool_name, args.name, capacity, args.format,
                                           args.backing)
        except GuestError as exc:
            raise _unknown_is_usage(exc, args.pool) from None
    finally:
        fleet.close()
    backing = f", backed by {volume.backing}" if volume.backing else ""
    say(f"{host}/{volume.pool}/{volume.name}: created ({volume.format or '-'}, "
        f"{human_size(volume.capacity)}{backing}) at {volume.path}")
    return EXIT_OK


def cmd_volume_resize(args: argparse.Namespace, config: Config) -> int:
    host, pool_name, name = _split(args.volume, 3, config)
    capacity = _size(args.size)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, host)
        try:
            volume, before = session.resize_volume(pool_name, name, capacity,
                                                   shrink=args.shrink)
        except GuestError as exc:
            raise _unknown_is_usage(exc, args.volume) from None
    finally:
        fleet.close()
    say(f"{host}/{volume.pool}/{volume.name}: resized from {human_size(before)} to "
        f"{human_size(volume.capacity)}")
    return EXIT_OK


def cmd_volume_delete(args: argparse.Namespace, config: Config) -> int:
    host, pool_name, name = _split(args.volume, 3, config)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, host)
        try:
            volume, _endpoint = session.volume(pool_name, name)
            session.check_delete(volume)  # read-only, in use: before asking
            target = (f"{host}/{volume.pool}/{volume.name} ({volume.format or '-'}, "
                      f"{human_size(volume.capacity)}) {volume.path}")
            if not confirm("delete volume", [target], args.yes, typed=volume.name):
                warn("cancelled; nothing was changed")
                return EXIT_FAILED
            session.delete_volume(volume)
        except GuestError as exc:
            raise _unknown_is_usage(exc, args.volume) from None
    finally:
        fleet.close()
    say(f"{host}/{volume.pool}/{volume.name}: deleted")
    return EXIT_OK


def cmd_pool(args: argparse.Namespace, config: Config) -> int:
    host, pool_name = _split(args.pool, 2, config)
    enable = not args.disable
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, host)
        try:
            if args.action == "stop":
                session.check_pool_action(pool_name, "stop")  # read-only: before asking
                pool, _endpoint = session.pool(pool_name)
                target = f"{host}/{pool.name} ({pool.type}, {pool.path or '-'})"
                if not confirm("stop pool", [target], args.yes, typed=pool.name):
                    warn("cancelled; nothing was changed")
                    return EXIT_FAILED
            pool = session.pool_action(pool_name, args.action, enable)
        except GuestError as exc:
            raise _unknown_is_usage(exc, args.pool) from None
    finally:
        fleet.close()
    done = {"start": "started", "stop": "stopped", "refresh": "refreshed",
            "autostart": f"autostart {'on' if enable else 'off'}"}[args.action]
    state = "active" if pool.active else "inactive"
    say(f"{host}/{pool.name}: {done} (now {state}, {human_size(pool.available)} available)")
    return EXIT_OK
