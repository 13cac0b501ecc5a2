"""Making containers on a host: LXC system containers from a directory (defined through
the host's LXC connection) and Docker containers from an image (pulled first when the
host lacks it). Checked before anything is made; a guest that cannot start when asked to
is removed again, so a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuivirt.actions import Action
from tuivirt.errors import GuestError, HostError, TuivirtError
from tuivirt.model import Guest
from tuivirt.session.core import SessionCore

if TYPE_CHECKING:
    from tuivirt.backends.docker import DockerEndpoint
    from tuivirt.backends.docker_pull import ImagePull
    from tuivirt.backends.libvirt import LibvirtEndpoint
    from tuivirt.create.container import ContainerSpec, PullStatus
    from tuivirt.create.lxc import LXCSpec

_BRIDGE_CHECK = '[ -d "/sys/class/net/$1/bridge" ] && echo ok || echo none'


class Containers(SessionCore):
    """LXC containers from a directory, Docker containers from an image."""

    # -- shared ----------------------------------------------------------------------------
    def _run_here(self, script: str, *args: str) -> str:
        """A small sh script run on the host itself (locally, or over its SSH link)."""
        if self.tunnel is not None:
            command = " ".join(shlex.quote(a) for a in ("sh", "-c", script, "sh", *args))
            status, out, err = self.tunnel.run(command)
            if status != 0:
                raise HostError(self.name, f"checking on the host failed: "
                                f"{err.strip() or f'exit {status}'}")
            return str(out)
        if not self._local:
            raise HostError(self.name, "cannot look at this host's files (it is reached "
                            "without ssh): configure `ssh = ...` for it")
        import subprocess

        try:
            proc = subprocess.run(["sh", "-c", script, "sh", *args], capture_output=True,
                                  text=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError(self.name, f"checking on the host failed: {exc}") from None
        if proc.returncode != 0:
            raise HostError(self.name, f"checking on the host failed: "
                            f"{proc.stderr.strip() or f'exit {proc.returncode}'}")
        return proc.stdout

    def _name_taken(self, name: str) -> str | None:
        """The guest on this host that already has `name` (any kind), as its address."""
        for guest in self.inventory.guests(self.name):
            if guest.name == name:
                return f"{guest.key} ({guest.state})"
        return None

    def _check_new(self, name: str, problems: list[str]) -> None:
        """A new container: the host takes changes, and the spec's own problems."""
        self._check_writable(f"create container {name}", name)
        if problems:
            raise GuestError(self.name, name, "; ".join(problems))

    def _refuse_taken(self, name: str, taken: str | None) -> None:
        if taken is not None:
            raise GuestError(self.name, name, f"the name {name!r} is taken on {self.name}: "
                             f"{taken}")

    def _start_new(self, guest: Guest, made: str, start: Callable[[], object],
                   remove: Callable[[], None], lookup: Callable[[], Guest | None]) -> Guest:
        """Start a guest just made; one that does not start is removed again (said so)."""
        try:
            start()
        except GuestError as exc:
            raise self._remove_after_failed_start(made, guest, exc.message, remove) from None
        fresh = lookup() or guest
        self.inventory.upsert(fresh)
        return fresh

    def _remove_after_failed_start(self, what: str, guest: Guest, why: str,
                                   remove: Callable[[], None]) -> TuivirtError:
        """The error for a guest made but not started: removed again, or said it stays."""
        try:
            remove()
        except TuivirtError as exc:
            return GuestError(self.name, guest.name, f"{what}, but it did not start: {why}; "
                              f"removing it failed too ({exc.message}): it is still there")
        self.inventory.remove_id(self.name, guest.id)
        return GuestError(self.name, guest.name, f"{what}, but it did not start: {why}; "
                          "it was removed again: nothing is left on the host")

    # -- LXC from a directory ---------------------------------------------------------------
    def lxc_endpoint(self) -> LibvirtEndpoint:
        """The host's LXC connection (lxc:///system), or why there is none."""
        lxc = [e for e in self.libvirt if e.driver.upper() == "LXC"]
        if lxc:
            return lxc[0]
        down = [u for u in self.host.libvirt if u.startswith("lxc") and u not in
                [e.endpoint for e in self.libvirt]]
        if down:
            raise self._not_connected(down[0])
        raise HostError(self.name, "no LXC connection on this host: add lxc:///system to "
                        "its libvirt list")

    def check_lxc(self, spec: LXCSpec) -> LibvirtEndpoint:
        """Everything that would refuse the container, before anything is defined."""
        from tuivirt.create.lxc import ROOT_CHECK, NetKind, root_problem

        self._check_new(spec.name, spec.problems())
        endpoint = self.lxc_endpoint()
        taken = self._name_taken(spec.name)
        if taken is None:  # the inventory may be older than the daemon: ask it too
            taken = next((f"{g.key} ({g.state})" for g in endpoint.list_guests()
                          if g.name == spec.name), None)
        self._refuse_taken(spec.name, taken)
        problem = root_problem(self._run_here(ROOT_CHECK, spec.root, spec.init), spec,
                               self.name)
        if problem is not None:
            raise GuestError(self.name, spec.name, problem)
        if spec.network.kind is NetKind.NETWORK:
            names = sorted(n.name for n in endpoint.list_networks())
            if spec.network.name not in names:
                raise GuestError(self.name, spec.name, f"no network {spec.network.name!r} "
                                 f"on {self.name} (networks: {', '.join(names) or 'none'})")
        elif (spec.network.kind is NetKind.BRIDGE
              and self._run_here(_BRIDGE_CHECK, spec.network.name).strip() != "ok"):
            raise GuestError(self.name, spec.name, f"no bridge {spec.network.name!r} "
                                 f"on {self.name}")
        return endpoint

    def create_lxc(self, spec: LXCSpec, *, start: bool = False,
                   xml: str | None = None) -> Guest:
        """Check, define (libvirt validates), and start when asked; the guest as it is.
        `xml`: the definition to define instead of the one made from `spec` (the UI's
        editor pane: reviewed and edited), after the same checks."""
        from tuivirt.create.lxc import lxc_xml

        endpoint = self.check_lxc(spec)
        guest = endpoint.define(lxc_xml(spec) if xml is None else xml)
        self.inventory.upsert(guest)
        if not start:
            return guest
        return self._start_new(guest, "defined", lambda: endpoint.perform(guest, Action.START),
                               lambda: endpoint.perform(guest, Action.UNDEFINE),
                               lambda: endpoint.lookup(guest.id))

    # -- Docker from an image -------------------------------------------------------------
    def _docker_endpoint_now(self) -> DockerEndpoint:
        if not self.host.docker:
            raise HostError(self.name, "no Docker endpoint on this host (`docker = ...` "
                            "in its config)")
        if self.docker is None:
            raise self._not_connected(self.host.docker)
        return self.docker

    def check_container(self, spec: ContainerSpec) -> DockerEndpoint:
        self._check_new(spec.name, spec.problems())
        endpoint = self._docker_endpoint_now()
        self._refuse_taken(spec.name, self._name_taken(spec.name))
        return endpoint

    def create_container(self, spec: ContainerSpec, *, start: bool = False,
                         on_progress: Callable[[PullStatus], None] | None = None,
                         on_pull: Callable[[ImagePull], None] | None = None) -> Guest:
        """Check; pull the image when the host lacks it (`on_pull` gets the pull, to
        cancel it; `on_progress` each step); create; start when asked."""
        from tuivirt.backends.docker_pull import ImagePull, PullCancelled
        from tuivirt.create.container import PullError, with_defaults

        spec = with_defaults(spec)
        endpoint = self.check_container(spec)
        if not endpoint.image_exists(spec.image):
            pull = ImagePull(endpoint, spec.image)
            if on_pull is not None:
                on_pull(pull)
            try:
                pull.run(on_progress)
            except PullError as exc:
                raise GuestError(self.name, spec.name, f"cannot pull {spec.image}: "
                                 f"{exc.message}") from None
            except PullCancelled:
                raise GuestError(self.name, spec.name, f"pull of {spec.image} cancelled: "
                                 "nothing was created") from None
        # Docker makes a named volume it lacks along with the container: one that does not
        # start takes those with it when it is removed again, not the ones there before.
        fresh_volumes = endpoint.missing_volumes([v.source for v in spec.volumes if v.named])
        try:
            container_id = endpoint.create_container(spec)
        except GuestError as exc:
            made = [v for v in fresh_volumes if v not in endpoint.missing_volumes(fresh_volumes)]
            if made:  # a refused create may still have made them
                with contextlib.suppress(TuivirtError):
                    endpoint.remove_volumes(made, spec.name)
            if "no command specified" not in exc.message.lower():
                raise
            raise GuestError(self.name, spec.name, f"{exc.message}: the image {spec.image} "
                             "has no command of its own; give one with --cmd") from None
        guest = endpoint.lookup(container_id)
        if guest is None:
            raise GuestError(self.name, spec.name, "created, then gone at once (removed by "
                             "someone else?)")
        self.inventory.upsert(guest)
        if not start:
            return guest
        def remove() -> None:
            endpoint.remove_container(container_id, spec.name)
            endpoint.remove_volumes(fresh_volumes, spec.name)

        return self._start_new(guest, "created",
                               lambda: endpoint.start_container(container_id, spec.name),
                               remove, lambda: endpoint.lookup(container_id))
