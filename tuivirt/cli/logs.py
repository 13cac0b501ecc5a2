"""`logs`: a container's output, or a libvirt guest's hypervisor log.

On a terminal every line is made inert (a container's output is anyone's text: escape
sequences, OSC 52, bidi overrides); into a pipe or a file the bytes go out exactly as
the log holds them. ctrl+c ends a follow (exit 0: that is how one ends).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from tuivirt.cli.common import EXIT_OK, UsageError, open_fleet, resolve_one
from tuivirt.config import Config
from tuivirt.model import DOCKER


def register(sub: Any) -> None:
    p = sub.add_parser("logs", help="a container's logs, or a libvirt guest's hypervisor "
                       "log (/var/log/libvirt/qemu/NAME.log)")
    p.add_argument("address", metavar="ADDRESS",
                   help="HOST/NAME, HOST/KIND:NAME, or a NAME unique across hosts")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing what is written (ctrl+c ends)")
    p.add_argument("--since", metavar="DURATION|TIME",
                   help="only what was written since: 10m, 1h30m, 2d, or "
                   "2026-01-02T03:04:05Z (a hypervisor log: from its first line stamped "
                   "at or after it)")
    p.add_argument("-t", "--timestamps", action="store_true",
                   help="each line with its time (containers; libvirt stamps its own)")
    p.add_argument("-n", "--tail", type=int, metavar="N",
                   help="only the last N lines (default: all)")
    p.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.backends.logs import LogOptions, SinceFilter, TerminalText, parse_since

    if args.tail is not None and args.tail < 0:
        raise UsageError("--tail: a number of lines, 0 or more")
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.follow:
        import gc

        gc.enable()  # main() turns it off for short commands; a follow may run for days
    options = LogOptions(follow=args.follow, since=since, timestamps=args.timestamps,
                         tail=args.tail)
    fleet = open_fleet(config)
    source = None
    try:
        guest = resolve_one(fleet, args.address, config)
        source = fleet.session(guest.host).open_logs(guest, options)
        keep = SinceFilter(since) if since is not None and guest.kind != DOCKER else None
        terminal = TerminalText() if sys.stdout.isatty() else None
        out = sys.stdout
        raw = sys.stdout.buffer
        try:
            for data in source:
                if keep is not None:
                    data = keep.feed(data)
                    if not data:
                        continue
                if terminal is not None:
                    out.write(terminal.feed(data))
                    out.flush()
                else:
                    raw.write(data)
                    raw.flush()
            if terminal is not None:
                out.write(terminal.feed(b"", final=True))
                out.flush()
        except KeyboardInterrupt:
            if not args.follow:
                raise
            if terminal is not None:
                out.write("\n")
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            import os

            # Python would complain again when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    finally:
        if source is not None:
            source.close()
        # A host's daemon that hangs must not hold the exit (closing waits on it).
        closer = threading.Thread(target=fleet.close, name="close-fleet", daemon=True)
        closer.start()
        closer.join(0.5)
