"""Command line: subcommands over the same sessions and inventory as the UI.

Exit codes: 0 success; 1 an action (or a host) failed, each target's outcome printed;
2 usage or config error. Nothing on the path of `tuivirt list` imports Textual.

One module per group of subcommands, each registering its own parsers (`register`)
with the function that runs them (`func`); a new group is a new module listed in GROUPS.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from tuivirt import __version__
from tuivirt.cli import console, create, definitions, guests, hosts, logs, storage
from tuivirt.cli.common import EXIT_FAILED, EXIT_USAGE, UsageError
from tuivirt.cli.output import warn
from tuivirt.config import Config, load_config, timeout_problem
from tuivirt.errors import AddressError, ConfigError, TuivirtError

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "build_parser", "main"]

#: In the order `tuivirt --help` lists them.
GROUPS = (guests, definitions, console, logs, hosts, storage, create)


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
    # interactive: full-screen commands, which run until the user leaves.
    parser.set_defaults(interactive=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
