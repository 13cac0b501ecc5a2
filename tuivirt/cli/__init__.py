"""Command line: subcommands over the same sessions and inventory as the UI.

Exit codes: 0 success; 1 an action (or a host) failed, each target's outcome printed;
2 usage or config error. Nothing on the path of `tuivirt list` imports Textual.

One module per group of subcommands, each registering its own parsers (`register`)
with the function that runs them (`func`); a new group is a new module listed in GROUPS
with the commands it registers. A command line that names its command imports and
builds that group alone (every start of `tuivirt list` paid for every group's parsers
and imports); `--help`, no command or an unknown one builds them all.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Sequence

from tuivirt import __version__
from tuivirt.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    UsageError,
    add_tag_option,
    apply_tags,
)
from tuivirt.cli.output import warn
from tuivirt.config import Config, load_config, timeout_problem
from tuivirt.errors import AddressError, ConfigError, TuivirtError

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "build_parser", "main"]

#: module in tuivirt/cli -> the commands it registers, in the order `--help` lists them
#: (tests/unit/test_cli_groups.py checks each module registers exactly these).
GROUPS: dict[str, tuple[str, ...]] = {
    "guests": ("list", "start", "shutdown", "reboot", "destroy", "suspend", "resume",
               "autostart", "undefine"),
    "definitions": ("dumpxml", "define", "edit", "import-lxc", "history", "restore"),
    "console": ("console",),
    "logs": ("logs",),
    "hosts": ("hosts",),
    "storage": ("pools", "volumes", "volume", "pool"),
    "images": ("images", "image"),
    "create": ("create",),
    "build": ("build",),
}
_OPTIONS_WITH_VALUE = ("--config", "--timeout")


def command_group(argv: Sequence[str]) -> str | None:
    """The group whose command `argv` names (None: no command, or not one we know)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _OPTIONS_WITH_VALUE:
            skip = True
        elif token == "--" or not token.startswith("-"):
            word = None if token == "--" else token
            return next((g for g, words in GROUPS.items() if word in words), None)
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv` naming a command, holding that command's group only."""
    parser = argparse.ArgumentParser(
        prog="tuivirt",
        description="One console for every VM and container on every host. "
                    "With no command, opens the full-screen view.")
    parser.add_argument("--config", metavar="FILE",
                        help="hosts config (default: $XDG_CONFIG_HOME/tuivirt/config.toml)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="bound on connecting to one host (default: config, or 10)")
    parser.add_argument("--version", action="version", version=f"tuivirt {__version__}")
    # interactive: full-screen commands, which run until the user leaves.
    parser.set_defaults(interactive=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    only = command_group(argv) if argv is not None else None
    for group in [only] if only else GROUPS:
        importlib.import_module(f"tuivirt.cli.{group}").register(sub)
    for command in dict.fromkeys(sub.choices.values()):
        add_tag_option(command)
    return parser


def run_ui(config: Config) -> int:
    """The full-screen console. Hosts start connecting before Textual is even imported."""
    import threading

    from tuivirt.session import Fleet

    fleet = Fleet(config, live=True)
    gate = threading.Event()
    if fleet.all_heavy:
        # Nothing quick to show first (a fleet over SSH): every host connects now, while
        # Textual is imported, not once the app has mounted (0.3-0.4 s later).
        gate.set()
    fleet.start(gate)
    # Textual paints at most MAX_FPS times a second and a keystroke takes a frame or two
    # to show: 240 halves typing latency at 60's cost when idle (none: the timer pauses).
    os.environ.setdefault("TEXTUAL_FPS", "240")
    from tuivirt.ui.app import TuivirtApp

    app = TuivirtApp(config, fleet=fleet, start_sessions=False, gate=gate)
    return int(app.run() or 0)


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(words).parse_args(words)
    if args.command is not None and not args.interactive:
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
            warn(note)
        config = apply_tags(config, getattr(args, "host_tags", []))
        if args.command is None:
            return run_ui(config)
        return int(args.func(args, config))
    except ConfigError as exc:
        warn(f"config error: {exc}")
        return EXIT_USAGE
    except (UsageError, AddressError) as exc:
        warn(str(exc))
        return EXIT_USAGE
    except TuivirtError as exc:
        warn(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        warn("interrupted")
        return 130
