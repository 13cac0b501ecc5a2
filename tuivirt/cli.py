"""Command line: subcommands over the same sessions and inventory as the UI.

Exit codes: 0 success; 1 an action (or a host) failed, each target's outcome printed;
2 usage or config error. Nothing here imports Textual: `tuivirt list` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from tuivirt import __version__
from tuivirt.config import Config, load_config, timeout_problem
from tuivirt.errors import AddressError, ConfigError, GuestError, HostError, TuivirtError
from tuivirt.model import DOCKER, LIBVIRT_KINDS, DefinitionRef, Guest, GuestState, format_vcpus
from tuivirt.text import cell_width, inert, inert_lines, pad

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: action -> (past tense for outcome lines, needs confirmation)
LIFECYCLE = {
    "start": ("started", False),
    "shutdown": ("shutdown requested", False),
    "reboot": ("reboot requested", False),
    "destroy": ("destroyed (forced off)", True),
    "suspend": ("suspended", False),
    "resume": ("resumed", False),
    "autostart": ("autostart set", False),
    "undefine": ("undefined", True),
}
LIST_FIELDS = ("host", "kind", "name", "state", "vcpus", "memory_mib", "autostart",
               "persistent", "id", "arch", "image", "address", "state_detail")


class UsageError(TuivirtError):
    """Bad arguments that argparse cannot see (unknown host, kind, state...)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuivirt",
        description="One console for every VM and container on every host. "
                    "With no command, opens the full-screen view.")
    parser.add_argument("--config", metavar="FILE",
                        help="hosts config (default: $XDG_CONFIG_HOME/tuivirt/config.toml)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="bound on connecting to one host (default: config, or 10)")
    parser.add_argument("--version", action="version", version=f"tuivirt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list guests on every host")
    p.add_argument("--json", action="store_true", help="JSON array, one object per guest")
    p.add_argument("--host", action="append", default=[], metavar="HOST",
                   help="only this host (repeatable)")
    p.add_argument("--kind", action="append", default=[], metavar="KIND",
                   help="only this kind: kvm, qemu, lxc, docker, libvirt... (repeatable)")
    p.add_argument("--state", action="append", default=[], metavar="STATE",
                   help="only this state: running, paused, shutoff... (repeatable)")

    helps = {
        "start": "start guests", "shutdown": "ask guests to shut down (ACPI / docker stop)",
        "reboot": "reboot guests (docker restart)", "destroy": "force guests off (docker kill)",
        "suspend": "pause guests", "resume": "resume paused guests",
        "autostart": "turn autostart on (or off with --disable)",
        "undefine": "remove a guest's definition (docker rm)",
    }
    for action, (_done, confirm) in LIFECYCLE.items():
        p = sub.add_parser(action, help=helps[action])
        p.add_argument("addresses", nargs="+", metavar="ADDRESS",
                       help="HOST/NAME, HOST/KIND:NAME, or a NAME unique across hosts")
        p.add_argument("--json", action="store_true", help="outcomes as a JSON array")
        if action == "autostart":
            p.add_argument("--disable", action="store_true", help="turn autostart off")
        if confirm:
            p.add_argument("-y", "--yes", action="store_true",
                           help="do not ask (required when stdin is not a terminal)")

    p = sub.add_parser("dumpxml", help="print a domain's XML (a container's inspect JSON)")
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--inactive", action="store_true",
                   help="the persistent definition, not the live one")

    p = sub.add_parser("define", help="define a domain from an XML file on a host")
    p.add_argument("host", metavar="HOST")
    p.add_argument("file", metavar="FILE", help="domain XML ('-' for standard input)")

    target_help = ("HOST/NAME (a domain), HOST/network:NAME, or a domain NAME unique "
                   "across hosts")
    p = sub.add_parser("edit", help="edit a domain's or network's XML in the editor pane")
    p.add_argument("address", metavar="ADDRESS", help=target_help)

    p = sub.add_parser("import-lxc", help="convert a native LXC config (on the host) to a "
                       "domain, review it in the editor, define it")
    p.add_argument("host", metavar="HOST")
    p.add_argument("path", metavar="PATH", help="e.g. /var/lib/lxc/NAME/config")
    p.add_argument("--print", action="store_true",
                   help="print the converted XML instead of opening the editor")

    p = sub.add_parser("history", help="the backups kept before each define")
    p.add_argument("address", metavar="ADDRESS", help=target_help)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("restore", help="define a backup again (shows the diff first)")
    p.add_argument("address", metavar="ADDRESS", help=target_help)
    p.add_argument("backup", nargs="?", default="1", metavar="N|FILE",
                   help="a number from `history` (1 = newest, the default) or a file")
    p.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (required when stdin is not a terminal)")

    p = sub.add_parser("console", help="open a guest's console, full screen (ctrl+] leaves)")
    p.add_argument("address", metavar="ADDRESS",
                   help="HOST/NAME, or a NAME unique across hosts")
    p.add_argument("--via", choices=("auto", "libvirt", "ssh"), default="auto",
                   help="libvirt's console stream, or `virsh console` over SSH (auto: "
                   "the stream, SSH when libvirt cannot be reached)")

    p = sub.add_parser("hosts", help="reachability, versions and KVM support per host")
    p.add_argument("--json", action="store_true")
    return parser


# -- helpers ------------------------------------------------------------------------------
def _fleet(config: Config) -> Any:
    from tuivirt.session import Fleet  # the backends import libvirt: only when needed

    return Fleet(config)


# Human-readable output is made inert always, not only on a terminal: `| less -R`,
# `| tee`, `watch` and a log tailed later reach a terminal too. Scripts read --json
# (exact, JSON-escaped) or dumpxml (byte-exact), which are never touched.
def _say(text: str, file: TextIO | None = None) -> None:
    """A human-readable line that may hold outside text (names, daemon errors, paths)."""
    print(inert_lines(text), file=file or sys.stdout)


def _warn(text: str) -> None:
    _say(f"tuivirt: {text}", sys.stderr)


def _fmt_mem(mib: int | None) -> str:
    if mib is None:
        return "-"
    return f"{mib / 1024:.1f}G" if mib >= 10240 else f"{mib}M"


def _guest_json(guest: Guest, address: str) -> dict[str, Any]:
    data = guest.to_json()
    data["address"] = address
    return {key: data.get(key) for key in LIST_FIELDS}


def _print_table(rows: list[list[str]], out: TextIO) -> None:
    """Columns aligned by terminal cells (a CJK name takes two per character); every cell
    on one line, its control and bidi characters escaped (a TAB would break the columns,
    a right-to-left override would flip the ones after it)."""
    rows = [[inert(cell) for cell in row] for row in rows]
    widths = [max(cell_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True))
                  .rstrip() + "\n")


# -- commands -----------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace, config: Config) -> int:
    names = [h.name for h in config.hosts]
    for host in args.host:
        if host not in names:
            raise UsageError(f"unknown host {host!r} (configured: {', '.join(names)})")
    kinds = set(args.kind)
    valid_kinds = {*LIBVIRT_KINDS, DOCKER, "libvirt"}
    for kind in kinds:
        if kind not in valid_kinds:
            raise UsageError(f"unknown kind {kind!r} (one of: {', '.join(sorted(valid_kinds))})")
    states = set(args.state)
    valid_states = {str(s) for s in GuestState}
    for state in states:
        if state not in valid_states:
            raise UsageError(f"unknown state {state!r} (one of: "
                             f"{', '.join(sorted(valid_states))})")
    fleet = _fleet(config)
    try:
        errors = fleet.connect(args.host or None)
        problems = fleet.endpoint_problems(args.host or None)
        guests = [g for g in fleet.inventory.guests()
                  if (not args.host or g.host in args.host)
                  and (not kinds or g.kind in kinds or ("libvirt" in kinds and g.kind != DOCKER))
                  and (not states or str(g.state) in states)]
        addresses = fleet.inventory.addresses(guests)
    finally:
        fleet.close()
    for host, error in errors.items():
        _warn(f"host {host}: {error} (its guests are not listed)")
    for host, reasons in problems.items():
        for reason in reasons:
            _warn(f"host {host}: {reason} (its guests are not listed)")
    out = sys.stdout
    if args.json:
        # One object per line: greppable, and the C encoder (indent=None) is 5x faster.
        out.write("[\n" + ",\n".join(json.dumps(_guest_json(g, addresses[g.key]))
                                      for g in guests) + "\n]\n")
    elif guests:
        rows = [["HOST", "KIND", "NAME", "STATE", "VCPUS", "MEMORY", "AUTOSTART"]]
        for g in guests:
            rows.append([g.host, g.kind, g.name, str(g.state), format_vcpus(g.vcpus),
                         _fmt_mem(g.memory_mib),
                         "-" if g.autostart is None else ("yes" if g.autostart else "no")])
        _print_table(rows, out)
    else:
        _warn("no guests")
    return EXIT_FAILED if errors or problems else EXIT_OK


def _resolve(fleet: Any, addresses: Sequence[str], config: Config) -> tuple[
        list[tuple[str, Guest]], list[tuple[str, str]], bool]:
    """Connect what the addresses need and resolve them.

    Returns (resolved, failures as (address, message), usage_error?).
    """
    from tuivirt.inventory import Address

    names = [h.name for h in config.hosts]
    wanted: set[str] = set()
    parsed = []
    for text in addresses:
        address = Address.parse(text)
        if address.host is not None and address.host not in names:
            raise UsageError(f"{text}: unknown host {address.host!r} "
                             f"(configured: {', '.join(names)})")
        if address.host is None:
            wanted.update(names)
        else:
            wanted.add(address.host)
        parsed.append(text)
    errors = fleet.connect(sorted(wanted))
    # An endpoint down on a host that answers hides its guests as surely as a host down.
    partial = {host: "; ".join(reasons)
               for host, reasons in fleet.endpoint_problems(sorted(wanted)).items()}
    resolved: list[tuple[str, Guest]] = []
    failures: list[tuple[str, str]] = []
    usage = False
    for text in parsed:
        host = Address.parse(text).host
        if host is not None and host in errors:
            failures.append((text, f"host {host}: {errors[host]}"))
            continue
        try:
            resolved.append((text, fleet.inventory.resolve(text, unreachable=errors,
                                                            partial=partial)))
        except AddressError as exc:
            failures.append((text, exc.message))
            # Unknown/ambiguous names are the user's to fix, unless something was down.
            usage = usage or not (errors or partial)
    return resolved, failures, usage


def _resolve_one(fleet: Any, address: str, config: Config) -> Guest:
    """One guest, or the reason there is none (exit 2 for the user's mistakes, else 1)."""
    resolved, failures, usage = _resolve(fleet, [address], config)
    if failures:
        message = f"{failures[0][0]}: {failures[0][1]}"
        raise UsageError(message) if usage else TuivirtError(message)
    return resolved[0][1]


def _confirm(action: str, targets: list[str], assume_yes: bool) -> bool:
    listing = "\n".join(f"  {inert(t)}" for t in targets)
    print(f"{action} will affect:\n{listing}", file=sys.stderr)
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{action} needs confirmation: pass --yes to run it without a "
                         "terminal")
    answer = input(f"{action} {len(targets)} guest(s)? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def cmd_action(args: argparse.Namespace, config: Config) -> int:
    action = args.command
    done, needs_confirm = LIFECYCLE[action]
    enable = not getattr(args, "disable", False)
    fleet = _fleet(config)
    try:
        resolved, failures, usage = _resolve(fleet, args.addresses, config)
        outcomes: list[dict[str, Any]] = [
            {"address": a, "action": action, "ok": False, "error": m} for a, m in failures]
        if usage and not resolved:
            for outcome in outcomes:
                _warn(f"{outcome['address']}: {outcome['error']}")
            return EXIT_USAGE
        targets = [(fleet.inventory.address_of(g), g) for _t, g in resolved]
        if needs_confirm and targets:
            labels = [f"{a} ({g.kind}, {g.state})" for a, g in targets]
            if not _confirm(action, labels, args.yes):
                _warn("cancelled; nothing was changed")
                return EXIT_FAILED

        def run(target: tuple[str, Guest]) -> dict[str, Any]:
            address, guest = target
            try:
                fresh = fleet.session(guest.host).perform(guest, action, enable)
            except TuivirtError as exc:
                message = getattr(exc, "message", str(exc))
                return {"address": address, "action": action, "ok": False, "error": message}
            return {"address": address, "action": action, "ok": True, "error": None,
                    "state": str(fresh.state) if fresh else "removed"}

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(targets)))) as pool:
            outcomes.extend(pool.map(run, targets))
    finally:
        fleet.close()
    if args.json:
        json.dump(outcomes, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for o in outcomes:
            if o["ok"]:
                what = done if action != "autostart" else (
                    "autostart on" if enable else "autostart off")
                _say(f"{inert(o['address'])}: {what} (now {o['state']})")
            else:
                _say(f"{inert(o['address'])}: FAILED: {o['error']}", sys.stderr)
    return EXIT_OK if all(o["ok"] for o in outcomes) else EXIT_FAILED


def cmd_dumpxml(args: argparse.Namespace, config: Config) -> int:
    fleet = _fleet(config)
    try:
        guest = _resolve_one(fleet, args.address, config)
        text = fleet.session(guest.host).dumpxml(guest, inactive=args.inactive)
    finally:
        fleet.close()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_define(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.backends import domxml

    try:
        config.host(args.host)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    xml = _read_definition(args.file)
    problem = domxml.check_well_formed(xml)
    if problem is not None:
        raise UsageError(f"{args.file}:{problem.line}:{problem.column}: XML is not "
                         f"well-formed: {problem.message}")
    fleet = _fleet(config)
    try:
        errors = fleet.connect([args.host])
        if errors:
            _warn(f"host {args.host}: {errors[args.host]}")
            return EXIT_FAILED
        guest, backup = fleet.session(args.host).define(xml)
    finally:
        fleet.close()
    _say(f"{args.host}/{inert(guest.name)}: defined ({guest.kind}, {guest.state})")
    if backup:
        _say(f"previous definition kept in {backup}")
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
    names = [h.name for h in config.hosts]
    host, _, rest = text.partition("/")
    if rest.startswith("network:"):
        if host not in names:
            raise UsageError(f"{text}: unknown host {host!r} (configured: {', '.join(names)})")
        name = rest.removeprefix("network:")
        if not name:
            raise UsageError(f"{text}: no network name")
        if need_host:
            errors = fleet.connect([host])
            if errors:
                raise HostError(host, errors[host])
        return DefinitionRef(host, "network", name)
    guest = _resolve_one(fleet, text, config)
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
    if host not in names:
        raise UsageError(f"{text}: unknown host {host!r} (configured: {', '.join(names)})")
    if rest.startswith("network:"):
        return DefinitionRef(host, "network", rest.removeprefix("network:"))
    from tuivirt.inventory import Address

    return DefinitionRef(host, "domain", Address.parse(text).name)


def cmd_edit(args: argparse.Namespace, config: Config) -> int:
    fleet = _fleet(config)
    try:
        ref = _definition_ref(fleet, args.address, config)
        return _run_editor(config, fleet, ref)
    finally:
        fleet.close()


def _run_editor(config: Config, fleet: Any, ref: DefinitionRef, *,
                new_text: str | None = None, note: str = "") -> int:
    os.environ.setdefault("TEXTUAL_FPS", "240")
    from tuivirt.ui.edit_app import EditApp

    app = EditApp(config, fleet, ref, new_text=new_text, note=note)
    return int(app.run() or 0) or int(app.return_code or 0)


def cmd_import_lxc(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.backends import domxml

    try:
        config.host(args.host)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    fleet = _fleet(config)
    try:
        errors = fleet.connect([args.host])
        if errors:
            raise HostError(args.host, errors[args.host])
        xml = fleet.session(args.host).import_native(args.path)
        if args.print:
            sys.stdout.write(xml if xml.endswith("\n") else xml + "\n")
            return EXIT_OK
        name = (domxml.parse(xml).findtext("name") or "imported").strip()
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
        json.dump([{"number": n, "saved_at": b.label, "path": str(b.path),
                    "bytes": b.path.stat().st_size} for n, b in enumerate(found, 1)],
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not found:
        _say(f"{ref.address}: no backups (one is kept before every define)")
        return EXIT_OK
    rows = [["N", "SAVED", "FILE"]] + [[str(n), b.label, str(b.path)]
                                       for n, b in enumerate(found, 1)]
    _print_table(rows, sys.stdout)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    from tuivirt import backups, xmltools
    from tuivirt.errors import DefinitionChanged

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
    fleet = _fleet(config)
    try:
        errors = fleet.connect([ref.host])
        if errors:
            raise HostError(ref.host, errors[ref.host])
        session = fleet.session(ref.host)
        current = ""
        if ref.kind == "network":
            ref_now = ref
            try:
                current = session.definition(ref)
            except GuestError as exc:
                if not exc.missing:
                    raise
        else:
            guest = next((g for g in fleet.inventory.guests(ref.host)
                          if g.name == ref.name and g.kind != DOCKER), None)
            ref_now = ref if guest is None else DefinitionRef(
                ref.host, "domain", guest.name, guest.endpoint, guest.id)
            if guest is not None:
                current = session.definition(ref_now)
        diff = xmltools.unified_diff(current, text, f"defined on {ref.host} now"
                                     if current else "(not defined)", path)
        if not diff:
            _say(f"{ref.address}: the backup is the current definition: nothing to do")
            return EXIT_OK
        # For the eye before a yes/no, not data: a backup file may hold C1 controls.
        _say(diff.removesuffix("\n"))
        if not _confirm("restore", [f"{ref.address} from {path}"], args.yes):
            print("cancelled: nothing was changed")
            return EXIT_FAILED
        try:
            applied = session.apply_definition(ref_now, current, text, new=not current)
        except DefinitionChanged:
            raise GuestError(ref.host, ref.name, "the definition changed while you were "
                             "deciding: nothing was written; run restore again") from None
    finally:
        fleet.close()
    _say(f"{applied.ref.address}: restored from {path}")
    if applied.backup:
        _say(f"previous definition kept in {applied.backup}")
    return EXIT_OK


def cmd_console(args: argparse.Namespace, config: Config) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError("console needs a terminal")
    from tuivirt.backends.libvirt import ensure_event_loop

    ensure_event_loop()  # before any connection: the console stream is read on it
    fleet = _fleet(config)
    try:
        guest = _resolve_one(fleet, args.address, config)
        address = fleet.inventory.addresses([guest])[guest.key]
        os.environ.setdefault("TEXTUAL_FPS", "240")
        from tuivirt.ui.console_app import ConsoleApp

        app = ConsoleApp(config, fleet, guest, address,
                         via=args.via)
        return int(app.run() or 0)
    finally:
        # ctrl+] must end the process even when the host's daemon hangs (closing its
        # connection waits for an answer): close in the background, wait 0.5 s at most.
        import threading

        closer = threading.Thread(target=fleet.close, name="close-fleet", daemon=True)
        closer.start()
        closer.join(0.5)


def cmd_hosts(args: argparse.Namespace, config: Config) -> int:
    fleet = _fleet(config)
    try:
        fleet.connect()
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(fleet.sessions))) as pool:
            facts = list(pool.map(lambda s: s.facts(), fleet.sessions.values()))
    finally:
        fleet.close()
    if args.json:
        json.dump([f.to_json() for f in facts], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        rows = [["HOST", "STATE", "LIBVIRT", "HYPERVISORS", "DOCKER", "KVM", "CPU", "NOTE"]]
        for f in facts:
            kvm = "-" if f.kvm_usable is None else ("usable" if f.kvm_usable else "no")
            rows.append([
                f.name + (" (ro)" if f.read_only else ""), str(f.state),
                f.libvirt_version or "-",
                ",".join(f"{d} {v}" for d, v in f.hypervisors) or "-",
                f.docker_version or "-", kvm, ",".join(f.cpu_virt_flags) or "-",
                f.reason])
        _print_table(rows, sys.stdout)
    return EXIT_OK if all(f.to_json()["reachable"] for f in facts) else EXIT_FAILED


def run_ui(config: Config) -> int:
    """The full-screen console. Hosts start connecting before Textual is even imported."""
    import threading

    from tuivirt.session import Fleet

    fleet = Fleet(config, live=True)
    gate = threading.Event()
    fleet.start(gate)
    # Textual paints at most MAX_FPS times a second and a keystroke takes a frame or two
    # to show: 240 halves typing latency at 60's cost when idle (none: the timer pauses).
    os.environ.setdefault("TEXTUAL_FPS", "240")
    from tuivirt.ui.app import TuivirtApp

    app = TuivirtApp(config, fleet=fleet, start_sessions=False, gate=gate)
    return int(app.run() or 0)


INTERACTIVE = frozenset({"console", "edit"})  # full-screen: they run until the user leaves
COMMANDS = {"list": cmd_list, "dumpxml": cmd_dumpxml, "define": cmd_define,
            "hosts": cmd_hosts, "edit": cmd_edit, "import-lxc": cmd_import_lxc,
            "history": cmd_history, "restore": cmd_restore, "console": cmd_console,
            **dict.fromkeys(LIFECYCLE, cmd_action)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is not None and args.command not in INTERACTIVE:
        import gc

        # A short-lived command makes thousands of records and frees them at exit:
        # cyclic GC passes over them buy nothing (~5% of `list` on 1000 guests).
        # Never for a full-screen command: every frame Textual draws leaves cyclic
        # garbage (its strips cache themselves), and `tuivirt console` grew by 270 MB
        # over a 20 MB burst with the collector off.
        gc.disable()
    try:
        config = load_config(args.config)
        if args.timeout is not None:
            problem = timeout_problem(args.timeout)
            if problem:
                raise UsageError(f"--timeout {problem}")
            from dataclasses import replace

            config = replace(config, timeout=args.timeout)
        for note in config.notes:
            _warn(note)
        if args.command is None:
            return run_ui(config)
        return COMMANDS[args.command](args, config)
    except ConfigError as exc:
        _warn(f"config error: {exc}")
        return EXIT_USAGE
    except (UsageError, AddressError) as exc:
        _warn(str(exc))
        return EXIT_USAGE
    except TuivirtError as exc:
        _warn(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _warn("interrupted")
        return 130
