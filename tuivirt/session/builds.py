"""Building Docker images on a host from a context directory on that host (`tuivirt
build`, the images view's `b`): checked first (the tag, the directory and its
Dockerfile, the host takes changes), then built with the log streamed line by line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tuivirt.errors import GuestError, HostError
from tuivirt.session.containers import Containers
from tuivirt.text import inert

if TYPE_CHECKING:
    from tuivirt.backends.docker_build import BuildLine, Built, ContextSource, ImageBuild

# $1 the directory: one word saying what is wrong with it, or "ok".
_CONTEXT_CHECK = """
[ -e "$1" ] || { echo missing; exit 0; }
[ -d "$1" ] || { echo notdir; exit 0; }
[ -r "$1" ] && [ -x "$1" ] || { echo unreadable; exit 0; }
[ -f "$1/Dockerfile" ] || { echo nodockerfile; exit 0; }
[ -r "$1/Dockerfile" ] || { echo unreadable-dockerfile; exit 0; }
echo ok
"""


class BuildError(GuestError):
    """A build refused or failed on the host; `failed` holds the failing step, if any."""

    def __init__(self, host: str, message: str, failed: object = None) -> None:
        super().__init__(host, None, message)
        self.failed = failed  # a backends.docker_build.BuildFailed


class Builds(Containers):
    """`build`: an image from a context directory on the host."""

    def check_build(self, directory: str, tag: str) -> tuple[str, ContextSource]:
        """The tag as it will be (`:latest` said), and the context's source; BuildError
        says what is wrong before anything is sent to the daemon."""
        from tuivirt.backends.docker_build import LocalTar, RemoteTar, check_tag

        full, problem = check_tag(tag)
        if problem is not None:
            raise BuildError(self.name, problem)
        self._check_writable(f"build {full}")
        if not directory or "\0" in directory:
            raise BuildError(self.name, "a context directory is needed")
        self._docker_endpoint_now()
        where = f"{inert(directory)} on {self.name}"
        if self.tunnel is None and not self._local:
            raise BuildError(self.name, f"cannot read {where}: it is reached without "
                             "ssh (configure `ssh = ...` for it)")
        try:
            verdict = self._run_here(_CONTEXT_CHECK, directory).strip()
        except HostError as exc:
            raise BuildError(self.name, exc.message) from None
        problems = {
            "missing": f"no directory {where}",
            "notdir": f"{where} is not a directory",
            "unreadable": f"{where} cannot be read",
            "nodockerfile": f"no Dockerfile in {where}",
            "unreadable-dockerfile": f"the Dockerfile in {where} cannot be read",
        }
        if verdict != "ok":
            raise BuildError(self.name, problems.get(verdict, f"checking {where}: "
                                                     f"{inert(verdict)}"))
        source: ContextSource = (RemoteTar(self.tunnel, directory)
                                 if self.tunnel is not None else LocalTar(directory))
        return full, source

    def build_image(self, directory: str, tag: str, *, no_cache: bool = False,
                    on_line: Callable[[BuildLine], None] | None = None,
                    on_build: Callable[[ImageBuild], None] | None = None) -> Built:
        """Check, then build; each log line to `on_line` as it comes (inert), the build
        to `on_build` (to cancel it from another thread). BuildError on a refusal or a
        failed step (its `failed` the step and its output); BuildCancelled."""
        from tuivirt.backends.docker_build import BuildFailed, ImageBuild

        full, source = self.check_build(directory, tag)
        build = ImageBuild(self._docker_endpoint_now(), source, full, no_cache=no_cache)
        if on_build is not None:
            on_build(build)
        try:
            return build.run(on_line)
        except BuildFailed as exc:
            raise BuildError(self.name, exc.describe(), exc) from None
