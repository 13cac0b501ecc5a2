"""A pull or a push from the images view: the pull form (host, reference), then the create
flow's progress screen (ui/create/pull.py: the layers summed, a bar per layer) while it
runs; esc stops it. The job (a thread) only writes into the watch; nothing on it touches a
widget."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuivirt.text import inert
from tuivirt.ui.common.dialogs import Field
from tuivirt.ui.create.pull import PullScreen, PullWatch

if TYPE_CHECKING:
    from tuivirt.registries import RegistryConfig
    from tuivirt.session.host import HostSession


class TransferWatch(PullWatch):
    """A PullWatch whose idle words are a transfer's (no container is being made)."""

    def __init__(self, verb: str) -> None:
        super().__init__()
        self.verb = verb

    def text(self) -> str:
        if self.newest() is None and self.pull is None:
            return f"{self.verb}: checking the image and the registry's login…"
        return super().text()


class TransferScreen(PullScreen):
    """The progress of one pull or push; esc stops it (also before it has begun)."""

    def __init__(self, title: str, watch: TransferWatch) -> None:
        super().__init__(title, watch, hint=f"esc: stop the {watch.verb}")

    def action_cancel(self) -> None:
        from textual.widgets import Static

        self.watch_.cancel()  # before the stream began: started() cancels it at once
        self.query_one("#pull-status", Static).update(f"stopping the {self.verb}…")

    @property
    def verb(self) -> str:
        watch = self.watch_
        return watch.verb if isinstance(watch, TransferWatch) else "pull"


def pull_fields(hosts: list[str], host: str, values: dict[str, str] | None = None
                ) -> list[Field]:
    typed = values or {}
    chosen = typed.get("host", host)
    # The row's host first: a Select shows its first option when the value is not one.
    return [
        Field("host", "Host", chosen, options=tuple([chosen] + [h for h in hosts
                                                                  if h != chosen])),
        Field("reference", "Image REPOSITORY[:TAG] (no tag: latest)",
              typed.get("reference", ""), placeholder="e.g. 10.77.0.2:5000/app:1"),
    ]


def tag_fields(source: str, values: dict[str, str] | None = None) -> list[Field]:
    typed = values or {}
    return [Field("target", f"New name for {source}: REPOSITORY[:TAG] (no tag: latest)",
                  typed.get("target", ""), placeholder="e.g. 10.77.0.2:5000/app:1")]


def reference_problem(reference: str, *, digest: bool = True) -> str | None:
    """What is wrong with a typed image name, before any daemon is asked (a pull may
    name a digest, REPO@sha256:...; a new tag may not)."""
    from tuivirt.backends.docker_build import check_tag

    if not reference:
        return "give an image name, e.g. 10.77.0.2:5000/app:1"
    if digest and "@" in reference:
        name, _, rest = reference.partition("@")
        problem = check_tag(name)[1]
        if problem is None and not re.fullmatch(r"[a-z0-9]+:[0-9a-fA-F]{32,}", rest):
            problem = f"{inert(reference)}: not a valid REPO@DIGEST (e.g. app@sha256:…)"
        return problem
    return check_tag(reference)[1]


def transfer_job(session: HostSession, verb: str, reference: str, watch: TransferWatch,
                 registries: tuple[RegistryConfig, ...]) -> Callable[[], str]:
    """The thread's work: the checks and the login, then the stream to its end; the
    reference as the daemon names it (`app` -> `app:latest`)."""

    def run() -> str:
        transfer = session.image_transfer(verb, reference, registries)
        watch.started(transfer)
        transfer.run(watch.progress)
        return str(transfer.image)

    return run
