"""Definitions: dumpxml, define, edit, import-lxc, and the backups kept before every
define (history, restore)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tuivirt.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    check_host,
    confirm,
    open_fleet,
    resolve_one,
)
from tuivirt.cli.output import print_json, print_table, say, warn
from tuivirt.config import Config
from tuivirt.errors import HostError
from tuivirt.model import DOCKER, DefinitionRef
from tuivirt.text import inert


def register(sub: Any) -> None:
    p = sub.add_parser("dumpxml", help="print a domain's XML (a container's inspect JSON)")
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--inactive", action="store_true",
                   help="the persistent definition, not the live one")
    p.set_defaults(func=cmd_dumpxml)

    p = sub.add_parser("define", help="define a domain from an XML file on a host")
    p.add_argument("host", metavar="HOST")
    p.add_argument("file", metavar="FILE", help="domain XML ('-' for standard input)")
    p.set_defaults(func=cmd_define)

    target_help = ("HOST/NAME (a domain), HOST/network:NAME, or a domain NAME unique "
                   "across hosts")
    p = sub.add_parser("edit", help="edit a domain's or network's XML in the editor pane")
    p.add_argument("address", metavar="ADDRESS", help=target_help)
    p.set_defaults(func=cmd_edit, interactive=True)

    p = sub.add_parser("import-lxc", help="convert a native LXC config (on the host) to a "
                       "domain, review it in the editor, define it")
    p.add_argument("host", metavar="HOST")
    p.add_argument("path", metavar="PATH", help="e.g. /var/lib/lxc/NAME/config")
    p.add_argument("--print", action="store_true",
                   help="print the converted XML instead of opening the editor")
    p.set_defaults(func=cmd_import_lxc)

    p = sub.add_parser("history", help="the backups kept before each define")
    p.add_argument("address", metavar="ADDRESS", help=target_help)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("restore", help="define a backup again (shows the diff first)")
    p.add_argument("address", metavar="ADDRESS", help=target_help)
    p.add_argument("backup", nargs="?", default="1", metavar="N|FILE",
                   help="a number from `history` (1 = newest, the default) or a file")
    p.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (required when stdin is not a terminal)")
    p.set_defaults(func=cmd_restore)


def cmd_dumpxml(args: argparse.Namespace, config: Config) -> int:
    fleet = open_fleet(config)
    try:
        guest = resolve_one(fleet, args.address, config)
        text = fleet.session(guest.host).dumpxml(guest, inactive=args.inactive)
    finally:
        fleet.close()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_define(args: argparse.Namespace, config: Config) -> int:
    from tuivirt import xmltools

    check_host(config, args.host)
    xml = _read_definition(args.file)
    problem = xmltools.check_well_formed(xml)
    if problem is not None:
        raise UsageError(f"{args.file}:{problem.line}:{problem.column}: XML is not "
                         f"well-formed: {problem.message}")
    fleet = open_fleet(config)
    try:
        errors = fleet.connect([args.host])
        if errors:
            warn(f"host {args.host}: {errors[args.host]}")
            return EXIT_FAILED
        guest, backup = fleet.session(args.host).define(xml)
    finally:
        fleet.close()
    say(f"{args.host}/{inert(guest.name)}: defined ({guest.kind}, {guest.state})")
    if backup:
        say(f"previous definition kept in {backup}")
    return EXIT_OK


def _read_definition(path: str) -> str:
    """A definition file ('-': standard input), refused at once when it is bigger than
    libvirt accepts (a 50 MB one was read, parsed, then refused by libvirt's client)."""
    from tuivirt import xmltools

    limit = xmltools.LIBVIRT_XML_MAX
    try:
        problem = None if path == "-" else xmltools.size_problem(os.stat(path).st_size,
                                                                 path, limit)
        if problem is None:
            if path == "-":
                data = sys.stdin.buffer.read(limit + 1)
            else:
                with open(path, "rb") as handle:
                    data = handle.read(limit + 1)
            # Standard input (or a file that grew): all we know is "more than the limit".
            problem = xmltools.size_problem(len(data), "standard input" if path == "-"
                                            else path, limit, more=True)
        if problem is not None:
            raise UsageError(problem)
        # Newlines as text mode reads them (what define and restore always read).
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def _definition_ref(fleet: Any, text: str, config: Config, *,
                    need_host: bool = True) -> DefinitionRef:
    """HOST/network:NAME, or a domain address resolved through the hosts."""
    host, _, rest = text.partition("/")
    if rest.startswith("network:"):
        check_host(config, host, text)
        name = rest.removeprefix("network:")
        if not name:
            raise UsageError(f"{text}: no network name")
        if need_host:
            errors = fleet.connect([host])
            if errors:
                raise HostError(host, errors[host])
        return DefinitionRef(host, "network", name)
    guest = resolve_one(fleet, text, config)
    if guest.kind == DOCKER:
        raise UsageError(f"{text}: a Docker container has no XML definition "
                         "(`tuivirt dumpxml` shows its inspect JSON)")
    return DefinitionRef(guest.host, "domain", guest.name, guest.endpoint, guest.id)


def _offline_ref(text: str, config: Config) -> DefinitionRef:
    """For history/restore: HOST/NAME or HOST/network:NAME without asking the host (the
    guest may be gone: that is when a backup matters most)."""
    names = [h.name for h in config.hosts]
    host, slash, rest = text.partition("/")
    if not slash:
        from tuivirt import backups

        hosts = [h for h in names if backups.history(h, text)]
        if len(hosts) != 1:
            found = f"backups on {', '.join(hosts)}" if hosts else "no backups"
            raise UsageError(f"{text}: name the host as HOST/{text} ({found})")
        return DefinitionRef(hosts[0], "domain", text)
    check_host(config, host, text)
    if rest.startswith("network:"):
        return DefinitionRef(host, "network", rest.removeprefix("network:"))
    from tuivirt.inventory import Address

    return DefinitionRef(host, "domain", Address.parse(text).name)


def cmd_edit(args: argparse.Namespace, config: Config) -> int:
    fleet = open_fleet(config)
    try:
        ref = _definition_ref(fleet, args.address, config)
        return _run_editor(config, fleet, ref)
    finally:
        fleet.close()


def _run_editor(config: Config, fleet: Any, ref: DefinitionRef, *,
                new_text: str | None = None, note: str = "") -> int:
    os.environ.setdefault("TEXTUAL_FPS", "240")
    from tuivirt.ui.editor.app import EditApp

    app = EditApp(config, fleet, ref, new_text=new_text, note=note)
    return int(app.run() or 0) or int(app.return_code or 0)


def cmd_import_lxc(args: argparse.Namespace, config: Config) -> int:
    from tuivirt import xmltools

    check_host(config, args.host)
    fleet = open_fleet(config)
    try:
        errors = fleet.connect([args.host])
        if errors:
            raise HostError(args.host, errors[args.host])
        xml = fleet.session(args.host).import_native(args.path)
        if args.print:
            sys.stdout.write(xml if xml.endswith("\n") else xml + "\n")
            return EXIT_OK
        name = (xmltools.parse(xml).findtext("name") or "imported").strip()
        note = (f"Converted from {args.host}:{args.path} by libvirt (lxc-tools). Review, "
                "then ctrl+s defines it.")
        return _run_editor(config, fleet, DefinitionRef(args.host, "domain", name),
                           new_text=xml, note=note)
    finally:
        fleet.close()


def cmd_history(args: argparse.Namespace, config: Config) -> int:
    from tuivirt import backups

    ref = _offline_ref(args.address, config)
    found = list(reversed(backups.history(ref.host, ref.name, ref.kind)))
    if args.json:
        print_json([{"number": n, "saved_at": b.label, "path": str(b.path),
                     "bytes": b.path.stat().st_size} for n, b in enumerate(found, 1)], 2)
        return EXIT_OK
    if not found:
        say(f"{ref.address}: no backups (one is kept before every define)")
        return EXIT_OK
    rows = [["N", "SAVED", "FILE"]] + [[str(n), b.label, str(b.path)]
                                       for n, b in enumerate(found, 1)]
    print_table(rows, sys.stdout)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    from tuivirt import backups, xmltools

    ref = _offline_ref(args.address, config)
    if args.backup.isdigit():
        found = list(reversed(backups.history(ref.host, ref.name, ref.kind)))
        number = int(args.backup)
        if not 1 <= number <= len(found):
            raise UsageError(f"{ref.address}: no backup number {number} "
                             f"({len(found)} kept; see `tuivirt history {args.address}`)")
        path = str(found[number - 1].path)
    else:
        path = args.backup
    text = _read_definition(path)
    fleet = open_fleet(config)
    try:
        errors = fleet.connect([ref.host])
        if errors:
            raise HostError(ref.host, errors[ref.host])
        session = fleet.session(ref.host)
        ref_now, current = session.restore_target(ref)
        diff = xmltools.unified_diff(current, text, f"defined on {ref.host} now"
                                     if current else "(not defined)", path)
        if not diff:
            say(f"{ref.address}: the backup is the current definition: nothing to do")
            return EXIT_OK
        # For the eye before a yes/no, not data: a backup file may hold C1 controls.
        say(diff.removesuffix("\n"))
        if not confirm("restore", [f"{ref.address} from {path}"], args.yes):
            print("cancelled: nothing was changed")
            return EXIT_FAILED
        applied = session.restore(ref_now, current, text)
    finally:
        fleet.close()
    say(f"{applied.ref.address}: restored from {path}")
    if applied.backup:
        say(f"previous definition kept in {applied.backup}")
    return EXIT_OK
