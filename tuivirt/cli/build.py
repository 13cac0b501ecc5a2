"""`tuivirt build HOST DIR -t REPO:TAG [--no-cache]`: an image from a context directory
on that host (read there, over its SSH connection when remote), the log streamed to
stdout as dockerd writes it (steps bold on a terminal), the new image's id last.

Exit 0 with the id on stdout's last line; 1 when the build fails (the failing step and
its last lines on stderr) or the host refuses; 2 for a bad tag; 130 on ctrl+c (the
daemon stops the build).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from tuivirt.cli.common import EXIT_FAILED, EXIT_OK, UsageError, check_host, open_fleet
from tuivirt.cli.output import say, warn
from tuivirt.config import Config
from tuivirt.errors import HostError

_BOLD, _DIM, _RED, _PLAIN = "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[0m"


def register(sub: Any) -> None:
    p = sub.add_parser("build", help="build a Docker image from a directory on a host "
                       "(its Dockerfile), the log streamed")
    p.add_argument("host", metavar="HOST")
    p.add_argument("directory", metavar="DIR",
                   help="the build context, a directory on HOST holding a Dockerfile "
                        "(relative to the current directory when HOST is this machine)")
    p.add_argument("-t", "--tag", required=True, metavar="REPO:TAG",
                   help="the new image's name, e.g. project/webserver:1.0")
    p.add_argument("--no-cache", action="store_true", help="run every step again")
    p.set_defaults(func=cmd_build)


class _Printer:
    """Each log line on stdout as it comes; on a terminal, steps bold, cache hits dim,
    the error red. The text is inert already (docker_build) and made so again by say."""

    def __init__(self) -> None:
        self.styled = sys.stdout.isatty()

    def __call__(self, line: Any) -> None:
        from tuivirt.backends.docker_build import LineKind

        style = {LineKind.STEP: _BOLD, LineKind.CACHE: _DIM,
                 LineKind.ERROR: _RED}.get(line.kind) if self.styled else None
        if style is None:
            say(line.text)
        else:
            from tuivirt.text import inert

            sys.stdout.write(f"{style}{inert(line.text)}{_PLAIN}\n")
        sys.stdout.flush()


def cmd_build(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.backends.docker_build import BuildCancelled, BuildFailed, check_tag
    from tuivirt.session.builds import BuildError

    check_host(config, args.host)
    tag, problem = check_tag(args.tag)
    if problem is not None:
        raise UsageError(problem)
    host = next(h for h in config.hosts if h.name == args.host)
    directory = args.directory
    if host.ssh is None and not os.path.isabs(directory):
        directory = os.path.abspath(directory)  # this machine is the host
    builds: list[Any] = []
    fleet = open_fleet(config)
    try:
        errors = fleet.connect([args.host])
        if errors:
            raise HostError(args.host, errors[args.host])
        session = fleet.session(args.host)
        try:
            built = session.build_image(directory, tag, no_cache=args.no_cache,
                                        on_line=_Printer(), on_build=builds.append)
        except KeyboardInterrupt:
            if builds:
                builds[0].cancel()
            warn(f"{args.host}: build of {tag} cancelled: the daemon stops it; nothing "
                 "was tagged")
            return 130
        except BuildCancelled:
            warn(f"{args.host}: build of {tag} cancelled")
            return 130
        except BuildError as exc:
            failed = exc.failed
            words = failed.describe() if isinstance(failed, BuildFailed) else exc.message
            warn(f"{args.host}: {words}")
            return EXIT_FAILED
    finally:
        fleet.close()
    warn(f"{args.host}: built {tag} ({built.steps} steps, {built.cached} from the cache, "
         f"{built.seconds:.1f} s)")
    say(built.image_id)
    return EXIT_OK
