"""`console`: one guest's console, full screen (Textual is imported only here)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tuivirt.cli.common import UsageError, open_fleet, resolve_one
from tuivirt.config import Config


def register(sub: Any) -> None:
    p = sub.add_parser("console", help="open a guest's console, full screen (ctrl+] leaves)")
    p.add_argument("address", metavar="ADDRESS",
                   help="HOST/NAME, or a NAME unique across hosts")
    p.add_argument("--via", choices=("auto", "libvirt", "ssh"), default="auto",
                   help="libvirt's console stream, or `virsh console` over SSH (auto: "
                   "the stream, SSH when libvirt cannot be reached)")
    p.set_defaults(func=cmd_console, interactive=True)


def cmd_console(args: argparse.Namespace, config: Config) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError("console needs a terminal")
    from tuivirt.backends.libvirt.loop import ensure_event_loop

    ensure_event_loop()  # before any connection: the console stream is read on it
    fleet = open_fleet(config)
    try:
        guest = resolve_one(fleet, args.address, config)
        address = fleet.inventory.addresses([guest])[guest.key]
        os.environ.setdefault("TEXTUAL_FPS", "240")
        from tuivirt.ui.console.app import ConsoleApp

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
