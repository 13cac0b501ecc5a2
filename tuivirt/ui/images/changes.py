"""What the images view changes: pull, push (progress, esc stops), tag, remove (refused
while containers use it unless forced; the name typed), prune (what it frees said first),
a container run from an image (the new-guest flow's form, the image filled in), a build.

Every daemon call runs on a thread (ThreadJobs); its outcome is one notification, then
the view lists the host again. A read-only host refuses first, as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tuivirt.errors import read_only_refusal
from tuivirt.sizes import human_size
from tuivirt.text import inert
from tuivirt.ui.common.confirm import ConfirmScreen
from tuivirt.ui.common.dialogs import FormScreen
from tuivirt.ui.common.workers import ThreadJobs, error_text
from tuivirt.ui.images import transfer

if TYPE_CHECKING:
    from tuivirt.config import Config
    from tuivirt.model import Image
    from tuivirt.session.images import PrunePlan
    from tuivirt.ui.common.fleet_screen import FleetScreen
    from tuivirt.ui.images.rows import ImageRow

    class _Base(FleetScreen, ThreadJobs):
        """What the mixin runs on: the images screen."""
else:
    _Base = ThreadJobs


class ImageChanges(_Base):
    """Mixed into ImagesScreen, which provides the rows, `select` and `action_reload`."""

    config: Config

    @property
    def current_row(self) -> ImageRow | None:
        raise NotImplementedError

    def docker_hosts(self) -> list[str]:
        raise NotImplementedError

    def select(self, host: str, reference: str) -> None:
        raise NotImplementedError

    def action_reload(self) -> None:
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------------
    def _refused(self, host: str, what: str) -> bool:
        """A read-only host refuses (told, as everywhere); True when it did."""
        if self.read_only(host):
            self.notify(read_only_refusal(host, inert(what)), severity="error", timeout=6)
            return True
        return False

    def _row_or_say(self) -> ImageRow | None:
        row = self.current_row
        if row is None:
            self.notify("no image under the cursor", severity="warning")
        return row

    def _cancelled(self) -> None:
        self.notify("cancelled: nothing was changed", timeout=4)

    def _run(self, job: Callable[[], Any], done: Callable[[Any], str], what: str) -> None:
        """A change on a thread; its outcome a notification; then what is, shown."""

        def succeeded(result: Any) -> None:
            self.notify(inert(done(result)), timeout=6)
            self.action_reload()

        def failed(error: BaseException) -> None:
            self.job_failed(inert(what), error)
            self.action_reload()  # it may have half happened: show what is

        self.in_thread(job, succeeded, what=what, group="image-changes", failed=failed)

    # -- pull and push ----------------------------------------------------------------------
    def action_pull(self, values: dict[str, str] | None = None) -> None:
        row = self.current_row
        writable = [h for h in self.docker_hosts() if not self.read_only(h)]
        host = row.host if row is not None else (writable[0] if writable else "")
        if not writable or self._refused(host, "pull an image"):
            if not writable:
                self.notify("no writable host has a Docker endpoint to pull onto",
                            severity="error", timeout=6)
            return
        self.app.push_screen(
            FormScreen("Pull an image", transfer.pull_fields(writable, host, values),
                       note="From the registry the name gives (none: Docker Hub); a "
                            "[[registry]] login in the config is used when it has one.",
                       ok_label="Pull"),
            self._pull_typed)

    def _pull_typed(self, values: dict[str, str] | None) -> None:
        if values is None:
            return
        host, reference = values["host"], values["reference"]
        problem = transfer.reference_problem(reference)
        if problem is not None:
            self.notify(f"not pulled: {problem}", severity="error", timeout=8)
            self.action_pull(values)
            return
        if not self._refused(host, f"pull {reference}"):
            self._transfer("pull", host, reference)

    def action_push(self) -> None:
        row = self._row_or_say()
        if row is None or self._refused(row.host, f"push {row.shown}"):
            return
        if row.tag is None:
            self.notify(f"{row.host}/{row.shown}: a dangling image has no name to push "
                        "under: t tags it first", severity="error", timeout=8)
            return
        tag = row.tag
        self.app.push_screen(ConfirmScreen(
            "Push 1 image?", [f"{row.host}/{tag} ({row.image.short_id}, "
                              f"{human_size(row.image.size)}) to {registry_of(tag)}"],
            confirm_label="Push"),
            lambda ok: self._transfer("push", row.host, tag) if ok else self._cancelled())

    def _transfer(self, verb: str, host: str, reference: str) -> None:
        session = self.fleet.session(host)
        watch = transfer.TransferWatch(verb)
        progress = transfer.TransferScreen(f"{verb.capitalize()} {reference} on {host}",
                                           watch)
        self.app.push_screen(progress)
        job = transfer.transfer_job(session, verb, reference, watch, self.config.registries)
        done_word = "pulled" if verb == "pull" else "pushed"

        def done(image: str) -> None:
            progress.dismiss()
            self.notify(inert(f"{host}: {done_word} {image}"), timeout=8)
            if verb == "pull":
                self.select(host, image)
            self.action_reload()

        def failed(error: BaseException) -> None:
            from tuivirt.backends.docker_pull import PullCancelled

            progress.dismiss()
            if watch.cancelled or isinstance(error, PullCancelled):
                self.notify(inert(f"cancelled: the {verb} of {reference} on {host} was "
                                  "stopped"), severity="warning", timeout=8)
            else:
                self.job_failed(inert(f"{host}: {verb} {reference} failed"), error)
            self.action_reload()

        self.in_thread(job, done, what=f"{host}: {verb} {reference}",
                       group="image-transfer", failed=failed)

    # -- tag ----------------------------------------------------------------------------
    def action_tag(self, values: dict[str, str] | None = None) -> None:
        row = self._row_or_say()
        if row is None or self._refused(row.host, f"tag {row.shown}"):
            return
        self.app.push_screen(
            FormScreen(f"Tag {row.host}/{row.shown}", transfer.tag_fields(row.shown, values),
                       ok_label="Tag"),
            partial(self._tag_typed, row))

    def _tag_typed(self, row: ImageRow, values: dict[str, str] | None) -> None:
        from tuivirt.backends.docker_build import check_tag

        if values is None:
            return
        target, problem = check_tag(values["target"])
        if problem is not None:
            self.notify(f"not tagged: {problem}", severity="error", timeout=8)
            self.action_tag(values)
            return
        session = self.fleet.session(row.host)

        def done(image: Image) -> str:
            self.select(row.host, target)
            return f"{row.host}: {row.shown} tagged {target} ({image.short_id})"

        self._run(partial(session.tag_image, row.reference, target), done,
                  f"{row.host}/{row.shown}: not tagged {target}")

    # -- remove ---------------------------------------------------------------------------
    def action_remove(self, force: bool = False) -> None:
        row = self._row_or_say()
        if row is None or self._refused(row.host, f"remove image {row.shown}"):
            return
        session = self.fleet.session(row.host)
        where = f"{row.host}/{row.shown}"

        def ask(fresh: Image) -> None:
            """Asked afresh: a container may have been made from it since it was listed."""
            users = f"; used by {', '.join(fresh.used_by)} (they stay, the image loses " \
                    "its name)" if fresh.used_by else ""
            also = [t for t in fresh.tags if t != row.tag]
            note = (f"; only this tag goes (it keeps {', '.join(also)})"
                    if row.tag and also else "")
            self.app.push_screen(ConfirmScreen(
                f"Remove 1 image{' (forced)' if force else ''}?",
                [f"{where} ({fresh.short_id}, {human_size(fresh.size)}){users}{note}"],
                typed=row.reference if row.tag else fresh.short_id,
                confirm_label="Remove"),
                lambda ok: self._remove(row, force) if ok else self._cancelled())

        def refused(error: BaseException) -> None:
            hint = "" if force else " · D removes it anyway"
            self.notify(f"{inert(where)}: not removed: {error_text(error)}{hint}",
                        severity="error", timeout=12)

        self.in_thread(partial(session.check_remove_image, row.reference, force=force),
                       ask, what=f"{where}: not removed", group="image-changes",
                       failed=refused)

    def _remove(self, row: ImageRow, force: bool) -> None:
        session = self.fleet.session(row.host)
        self._run(partial(session.remove_image, row.reference, force=force),
                  lambda done: f"{row.host}: " + ("; ".join(done) or f"removed {row.shown}"),
                  f"{row.host}/{row.shown}: not removed")

    # -- prune --------------------------------------------------------------------------
    def action_prune(self) -> None:
        row = self.current_row
        host = row.host if row is not None else next(iter(self.docker_hosts()), "")
        if not host or self._refused(host, "prune images"):
            return
        session = self.fleet.session(host)

        def ask(plan: PrunePlan) -> None:
            if not plan.images:
                self.notify(f"{host}: {plan.describe()}", timeout=6)
                return
            shown = [f"{host}/{i.short_id} ({human_size(i.size)})" for i in plan.images[:12]]
            if len(plan.images) > 12:
                shown.append(f"… and {len(plan.images) - 12} more")
            self.app.push_screen(ConfirmScreen(
                f"Prune on {host}: {plan.describe()}?", shown, confirm_label="Prune"),
                lambda ok: self._prune(host) if ok else self._cancelled())

        self.in_thread(session.prune_plan, ask, what=f"{host}: not pruned",
                       group="image-changes")

    def _prune(self, host: str) -> None:
        session = self.fleet.session(host)

        def done(result: tuple[int, int]) -> str:
            count, freed = result
            return f"{host}: pruned {count} image(s), {human_size(freed)} freed"

        self._run(session.prune_images, done, f"{host}: not pruned")

    # -- run, build ---------------------------------------------------------------------------
    def action_run(self) -> None:
        row = self._row_or_say()
        if row is None or self._refused(row.host, f"run a container from {row.shown}"):
            return
        main = getattr(self.app, "main", None)
        if main is None or not hasattr(main, "new_container"):
            return
        main.new_container(row.host, row.reference)

    def action_build(self) -> None:
        from tuivirt.ui.images.build import open_build

        row = self.current_row
        writable = [h for h in self.docker_hosts() if not self.read_only(h)]
        host = row.host if row is not None else None
        if host is not None and self._refused(host, "build an image"):
            return
        if host is None and not writable:
            self.notify("no writable host has a Docker endpoint to build on",
                        severity="error", timeout=6)
            return

        def built(image_id: str) -> None:
            self.select(host or "", image_id)  # no host: the form asked which
            self.action_reload()

        open_build(self, host, on_built=built)


def registry_of(reference: str) -> str:
    """The registry a push of `reference` goes to, as docker resolves it."""
    from docker import auth, utils

    repository, _tag = utils.parse_repository_tag(reference)
    registry, _name = auth.resolve_repository_name(repository)
    return "Docker Hub (docker.io)" if registry in ("docker.io", "index.docker.io") \
        else registry
