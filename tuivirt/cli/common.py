"""What every group of subcommands shares: exit codes, usage errors, the fleet, turning
addresses into guests, and asking before it hurts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tuivirt.config import Config
from tuivirt.errors import AddressError, TuivirtError, unknown_host
from tuivirt.model import Guest
from tuivirt.text import inert

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(TuivirtError):
    """Bad arguments that argparse cannot see (unknown host, kind, state...)."""


def check_host(config: Config, host: str, text: str | None = None) -> None:
    """A host named on the command line must be in the config (`text`: the argument it
    came from, to prefix the message with)."""
    names = [h.name for h in config.hosts]
    if host not in names:
        if host in config.untagged:
            problem = f"host {host!r} is not tagged {' or '.join(config.tag_filter)}"
        else:
            problem = unknown_host(host, names)
        raise UsageError(problem if text is None else f"{text}: {problem}")


def add_tag_option(parser: argparse.ArgumentParser) -> None:
    """`--tag NAME` on a command and on each of its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                add_tag_option(child)
            return
    if "--tag" in parser._option_string_actions:
        return  # `build -t/--tag REPO:TAG`: Docker's meaning; it names its one host
    parser.add_argument("--tag", action="append", default=[], metavar="TAG",
                        dest="host_tags",
                        help="only the hosts with this tag (repeatable: any of them)")


def apply_tags(config: Config, tags: Sequence[str]) -> Config:
    """The config with only the hosts that have one of `tags` (all when none given)."""
    if not tags:
        return config
    from dataclasses import replace

    chosen = tuple(h for h in config.hosts if set(h.tags) & set(tags))
    if not chosen:
        known = sorted({t for h in config.hosts for t in h.tags})
        raise UsageError(f"no host is tagged {' or '.join(map(repr, tags))} (tags: "
                         f"{', '.join(known) or 'none'})")
    left_out = tuple(h.name for h in config.hosts if h not in chosen)
    return replace(config, hosts=chosen, tag_filter=tuple(tags), untagged=left_out)


def open_fleet(config: Config) -> Any:
    from tuivirt.session import Fleet  # the backends import libvirt: only when needed

    return Fleet(config)


def from_each_host(fleet: Any, hosts: Sequence[str], ask: Any, what: str,
                   failed: list[str]) -> list[Any]:
    """`ask(session)` on each host at once (a slow host holds only itself); what they
    give, in host order. A host that fails is a line in `failed` ("its WHAT are not
    listed"), the others are listed."""
    from concurrent.futures import ThreadPoolExecutor

    def one(host: str) -> list[Any]:
        try:
            return list(ask(fleet.session(host)))
        except TuivirtError as exc:
            failed.append(f"host {host}: {exc.message} (its {what} are not listed)")
            return []

    found: list[Any] = []
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        for items in pool.map(one, hosts):
            found += items
    return found


def resolve(fleet: Any, addresses: Sequence[str], config: Config) -> tuple[
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
        if address.host is not None:
            check_host(config, address.host, text)
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


def resolve_one(fleet: Any, address: str, config: Config) -> Guest:
    """One guest, or the reason there is none (exit 2 for the user's mistakes, else 1)."""
    resolved, failures, usage = resolve(fleet, [address], config)
    if failures:
        message = f"{failures[0][0]}: {failures[0][1]}"
        raise UsageError(message) if usage else TuivirtError(message)
    return resolved[0][1]


def confirm(action: str, targets: Sequence[str], assume_yes: bool, *,
            typed: str | None = None, noun: str = "guest(s)") -> bool:
    """Name the targets first; on a terminal ask y/N, or for `typed` (a name) to be typed
    (as shown escaped, or exactly); without one, only --yes goes on."""
    listing = "\n".join(f"  {inert(t)}" for t in targets)
    print(f"{action} will affect:\n{listing}", file=sys.stderr)
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{action} needs confirmation: pass --yes to run it without a "
                         "terminal")
    if typed is not None:
        answer = input(f"type the name ({inert(typed)}) to {action}: ").strip()
        return answer in (typed, inert(typed))
    answer = input(f"{action} {len(targets)} {noun}? [y/N] ").strip().lower()
    return answer in ("y", "yes")
