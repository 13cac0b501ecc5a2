"""Docker images of a host: list, find, tag, remove, prune, push and pull.

Every daemon call is bounded (the backend's deadline; a push or pull by its stall
deadline) and every change is refused on a read-only host. What the daemon says comes
back made inert (tuivirt/text.py): an image reference or a registry's error is outside
text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuivirt.errors import GuestError, HostError, TuivirtError
from tuivirt.session.core import SessionCore
from tuivirt.sizes import human_size
from tuivirt.text import inert

if TYPE_CHECKING:
    from tuivirt.backends.docker import DockerEndpoint
    from tuivirt.backends.docker_pull import ImagePull
    from tuivirt.model import Image
    from tuivirt.registries import RegistryConfig


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What `image prune` would remove: the dangling images no container uses."""

    images: tuple[Image, ...]
    size: int  # the sum of their sizes: at most what pruning frees (layers may be shared)

    def describe(self) -> str:
        if not self.images:
            return "no dangling images: nothing to prune"
        return (f"{len(self.images)} dangling image(s), up to {human_size(self.size)} "
                "would be freed")


def _clean(exc: TuivirtError) -> TuivirtError:
    """The same error with its words made inert (they may hold a daemon's text)."""
    words = inert(exc.message)
    if words == exc.message:
        return exc
    if isinstance(exc, GuestError):
        return GuestError(exc.host, exc.guest and inert(exc.guest), words, missing=exc.missing)
    if isinstance(exc, HostError):
        return HostError(exc.host, words)
    return TuivirtError(words)


class Images(SessionCore):
    """The host's Docker images, on its Docker endpoint."""

    def _image_endpoint(self) -> DockerEndpoint:
        if not self.host.docker:
            raise HostError(self.name, "no Docker endpoint on this host: no images")
        if self.docker is None:
            raise self._not_connected(self.host.docker)
        return self.docker

    def _refuse(self, what: str, reference: str | None = None) -> None:
        try:
            self._check_writable(what, reference and inert(reference))
        except TuivirtError as exc:
            raise _clean(exc) from None

    def images(self) -> list[Image]:
        from tuivirt.backends import docker_images

        try:
            found = docker_images.list_images(self._image_endpoint())
        except TuivirtError as exc:
            raise _clean(exc) from None
        return sorted(found, key=lambda i: (i.dangling, i.name))

    def image(self, reference: str) -> Image:
        """The image a reference names: a tag (`tiny` is `tiny:latest`), an id or its
        prefix, or a digest. GuestError(missing) naming nothing else when none."""
        images = self.images()
        return find_image(self.name, images, reference)

    def tag_image(self, source: str, target: str) -> Image:
        from tuivirt.backends import docker_images

        self._refuse(f"tag {source} as {target}", source)
        image = self.image(source)
        try:
            docker_images.tag_image(self._image_endpoint(), image.id, target)
        except TuivirtError as exc:
            raise _clean(exc) from None
        return self.image(target)

    def check_remove_image(self, reference: str, *, force: bool = False) -> Image:
        """Everything that refuses the removal, before asking: read-only, unknown, and
        in use (unless forced) when the removal would delete the image itself, not one
        of its several tags."""
        self._refuse(f"remove image {reference}", reference)
        image = self.image(reference)
        deletes = len(image.tags) <= 1 or with_tag(reference) not in image.tags
        if image.used_by and deletes and not force:
            users = ", ".join(image.used_by)
            raise GuestError(self.name, inert(reference), inert(
                f"in use by {len(image.used_by)} container(s): {users}; remove them first, "
                "or force it (the containers stay; the image loses its name)"))
        return image

    def remove_image(self, reference: str, *, force: bool = False) -> list[str]:
        from tuivirt.backends import docker_images

        image = self.check_remove_image(reference, force=force)
        # By its tag when it has one (several tags: only that one goes), else by its id.
        target = with_tag(reference) if with_tag(reference) in image.tags else image.id
        try:
            return [inert(line) for line in docker_images.remove_image(
                self._image_endpoint(), target, force=force)]
        except TuivirtError as exc:
            raise _clean(exc) from None

    def prune_plan(self) -> PrunePlan:
        self._refuse("prune images")
        victims = tuple(i for i in self.images() if i.dangling and not i.used_by)
        return PrunePlan(victims, sum(i.size for i in victims))

    def prune_images(self) -> tuple[int, int]:
        """Remove the dangling images: (how many, bytes freed as the daemon says)."""
        from tuivirt.backends import docker_images

        self._refuse("prune images")
        try:
            return docker_images.prune_dangling(self._image_endpoint())
        except TuivirtError as exc:
            raise _clean(exc) from None

    def image_transfer(self, verb: str, reference: str,
                       registries: tuple[RegistryConfig, ...] = ()) -> ImagePull:
        """A push or pull of `reference` to run (`.run(on_progress)`, `.cancel()`),
        after the checks and the registry's login when the config gives one."""
        from tuivirt.backends.docker_images import ImagePush
        from tuivirt.backends.docker_pull import ImagePull
        self._refuse(f"{verb} {reference}", reference)
        endpoint = self._image_endpoint()
        reference = with_tag(reference)  # `app` means app:latest, as docker says it
        if verb == "push":
            self.image(reference)  # refused here when there is nothing to push
        self.login_for(reference, registries)
        return ImagePush(endpoint, reference) if verb == "push" else ImagePull(endpoint, reference)

    def login_for(self, reference: str, registries: tuple[RegistryConfig, ...]) -> str | None:
        """Log in to the reference's registry when the config gives its credentials;
        the registry's address when it did."""
        from tuivirt.backends import docker_images
        from tuivirt.registries import for_image, read_credentials

        registry = for_image(registries, reference)
        if registry is None:
            return None
        try:
            found = read_credentials(registry)
            if found is None:
                return None
            docker_images.login(self._image_endpoint(), registry, *found)
        except TuivirtError as exc:
            raise _clean(exc) from None
        return registry.address


def with_tag(reference: str) -> str:
    """`app` -> `app:latest` (as Docker stores it); a digest or a tag stays as it is."""
    last = reference.rsplit("/", 1)[-1]
    return f"{reference}:latest" if "@" not in reference and ":" not in last else reference


def find_image(host: str, images: list[Image], reference: str) -> Image:
    """The image `reference` names among `images` (see Images.image)."""
    wanted = with_tag(reference)
    for image in images:
        if wanted in image.tags or reference in image.digests:
            return image
    bare = reference.removeprefix("sha256:").lower()
    if len(bare) >= 4 and all(c in "0123456789abcdef" for c in bare):
        matches = [i for i in images if i.id.removeprefix("sha256:").startswith(bare)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise GuestError(host, inert(reference), f"the id prefix matches {len(matches)} "
                             "images: give more of it")
    raise GuestError(host, inert(reference), f"no such image on {host}", missing=True)
