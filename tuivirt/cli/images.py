"""Docker images: `images`, `image pull|push|tag|rm|prune`."""

from __future__ import annotations

import argparse
import sys
import time
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
from tuivirt.sizes import human_size


def register(sub: Any) -> None:
    p = sub.add_parser("images", help="Docker images of every host, and what uses them")
    p.add_argument("hosts", nargs="*", metavar="HOST", help="only these hosts")
    p.add_argument("--json", action="store_true", help="JSON array (sizes in bytes)")
    p.set_defaults(func=cmd_images)

    p = sub.add_parser("image", help="pull, push, tag, remove or prune Docker images")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("pull", "pull an image from its registry onto a host"),
                       ("push", "push a host's image to its registry")):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("host", metavar="HOST")
        v.add_argument("reference", metavar="REF", help="repository[:tag] (default latest)")
        v.set_defaults(func=cmd_transfer)
    v = verbs.add_parser("tag", help="give an image another name")
    v.add_argument("host", metavar="HOST")
    v.add_argument("source", metavar="SRC", help="a tag or id of the image")
    v.add_argument("target", metavar="DST", help="the new repository[:tag]")
    v.set_defaults(func=cmd_tag)
    v = verbs.add_parser("rm", help="remove an image (or one of its tags); asks its name")
    v.add_argument("host", metavar="HOST")
    v.add_argument("reference", metavar="REF", help="a tag or id of the image")
    v.add_argument("--force", action="store_true",
                   help="even while containers use it (they stay; the image loses its name)")
    v.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (required when stdin is not a terminal)")
    v.set_defaults(func=cmd_rm)
    v = verbs.add_parser("prune", help="remove the dangling images no container uses")
    v.add_argument("host", metavar="HOST")
    v.add_argument("-y", "--yes", action="store_true",
                   help="do not ask (required when stdin is not a terminal)")
    v.set_defaults(func=cmd_prune)


def age(created: float, now: float | None = None) -> str:
    """`12 s ago`, `5 min ago`, `3 h ago`, `4 d ago`, then the date."""
    seconds = max(0.0, (time.time() if now is None else now) - created)
    for unit, span in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= span:
            count = int(seconds // span)
            if unit == "d" and count > 60:
                return time.strftime("%Y-%m-%d", time.localtime(created))
            return f"{count} {unit} ago"
    return f"{int(seconds)} s ago"


def used_by(names: tuple[str, ...]) -> str:
    if not names:
        return "-"
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"{len(names)} ({shown})"


def _connect(fleet: Any, host: str) -> Any:
    errors = fleet.connect([host])
    if errors:
        raise HostError(host, errors[host])
    return fleet.session(host)


def _missing_is_usage(exc: GuestError, host: str) -> TuivirtError:
    """An image that is not there is the user's to fix (exit 2); the rest failed (1)."""
    return UsageError(f"{host}/{exc.guest}: {exc.message}") if exc.missing else exc


def cmd_images(args: argparse.Namespace, config: Config) -> int:
    for host in args.hosts:
        check_host(config, host)
    names = [h.name for h in config.hosts
             if h.docker and (not args.hosts or h.name in args.hosts)]
    failed = [f"host {h}: no Docker endpoint (no images)" for h in args.hosts
              if not config.host(h).docker]
    fleet = open_fleet(config)
    images: list[Any] = []
    try:
        errors = fleet.connect(names)
        for host, error in errors.items():
            failed.append(f"host {host}: {error} (its images are not listed)")

        images = from_each_host(fleet, [h for h in names if h not in errors],
                                lambda session: session.images(), "images", failed)
    finally:
        fleet.close()
    for line in failed:
        warn(line)
    if args.json:
        print_json([i.to_json() for i in images])
    elif images:
        rows = [["HOST", "REPOSITORY:TAG", "ID", "SIZE", "CREATED", "USED BY"]]
        now = time.time()
        for image in images:
            for tag in image.tags or ("<none>",):
                rows.append([image.host, tag, image.short_id, human_size(image.size),
                             age(image.created, now), used_by(image.used_by)])
        print_table(rows, sys.stdout)
    else:
        warn("no images")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_transfer(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.backends.docker_pull import PullCancelled
    from tuivirt.cli.create_ct import _ProgressLine
    from tuivirt.create.container import PullError

    check_host(config, args.host)
    progress = _ProgressLine()
    fleet = open_fleet(config)
    transfer: Any = None
    try:
        session = _connect(fleet, args.host)
        try:
            transfer = session.image_transfer(args.verb, args.reference, config.registries)
            transfer.run(progress)
        except GuestError as exc:
            raise _missing_is_usage(exc, args.host) from None
        except PullError as exc:
            raise GuestError(args.host, transfer.image, f"{args.verb} failed: "
                             f"{exc.message}") from None
        except (KeyboardInterrupt, PullCancelled):
            progress.end()
            if transfer is None:
                raise
            transfer.cancel()
            warn(f"cancelled: the {args.verb} of {transfer.image} was stopped")
            return 130
        finally:
            progress.end()
    finally:
        fleet.close()
    done = "pulled" if args.verb == "pull" else "pushed"
    say(f"{args.host}: {done} {transfer.image}")
    return EXIT_OK


def cmd_tag(args: argparse.Namespace, config: Config) -> int:
    check_host(config, args.host)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        try:
            image = session.tag_image(args.source, args.target)
        except GuestError as exc:
            raise _missing_is_usage(exc, args.host) from None
    finally:
        fleet.close()
    say(f"{args.host}: {args.source} tagged {args.target} ({image.short_id}; now "
        f"{', '.join(image.tags)})")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, config: Config) -> int:
    check_host(config, args.host)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        try:
            image = session.check_remove_image(args.reference, force=args.force)
            users = f", used by {', '.join(image.used_by)}" if image.used_by else ""
            target = (f"{args.host}/{args.reference} ({image.short_id}, "
                      f"{human_size(image.size)}{users})")
            if not confirm("remove image", [target], args.yes, typed=args.reference):
                warn("cancelled; nothing was changed")
                return EXIT_FAILED
            done = session.remove_image(args.reference, force=args.force)
        except GuestError as exc:
            raise _missing_is_usage(exc, args.host) from None
    finally:
        fleet.close()
    for line in done:
        say(f"{args.host}: {line}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, config: Config) -> int:
    check_host(config, args.host)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        plan = session.prune_plan()
        say(f"{args.host}: {plan.describe()}")
        if not plan.images:
            return EXIT_OK
        targets = [f"{args.host}/{i.short_id} ({human_size(i.size)})" for i in plan.images]
        if not confirm("prune images", targets, args.yes, noun="image(s)"):
            warn("cancelled; nothing was changed")
            return EXIT_FAILED
        count, freed = session.prune_images()
    finally:
        fleet.close()
    say(f"{args.host}: pruned {count} image(s), {human_size(freed)} freed")
    return EXIT_OK
