"""Docker images of one endpoint: list, tag, remove, prune, push, registry login.

Functions over a DockerEndpoint's API client, each bounded by the endpoint's deadline
(`bounded` reads it from the first argument), except a push: like a pull
(docker_pull.py) it lasts as long as the registry takes, so it is an ImagePull the other
way, with the same stall deadline, progress and cancel. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuivirt.backends.deadline import bounded
from tuivirt.backends.docker import DockerEndpoint, _message
from tuivirt.backends.docker_pull import ImagePull
from tuivirt.create.container import PullProgress, PullStatus
from tuivirt.errors import GuestError, HostError
from tuivirt.model import Image

if TYPE_CHECKING:
    from tuivirt.registries import RegistryConfig

#: A push's status words per layer -> the phases PullProgress counts ("downloading":
#: bytes moving). "Mounted from REPO" (the layer was already on the registry under
#: another name) is folded to "Mounted from" by PushProgress.
PUSH_PHASES = {
    "Preparing": "waiting", "Waiting": "waiting", "Retrying": "waiting",
    "Pushing": "downloading", "Pushed": "done", "Layer already exists": "done",
    "Mounted from": "done",
}


def _none(text: str) -> bool:
    return text.startswith("<none>")


def _fail(endpoint: DockerEndpoint, exc: Exception, reference: str | None = None) -> Exception:
    """The daemon's words as our error: a missing image is GuestError(missing)."""
    import docker.errors

    if isinstance(exc, docker.errors.NotFound):
        return GuestError(endpoint.host, reference, _message(exc), missing=True)
    if isinstance(exc, docker.errors.APIError):
        return GuestError(endpoint.host, reference, _message(exc))
    return HostError(endpoint.host, f"{endpoint.endpoint}: {_message(exc)}")


@bounded
def list_images(endpoint: DockerEndpoint) -> list[Image]:
    """Every image (dangling ones too, not the intermediate layers of builds), with the
    containers made from each (counted from the container list, stopped ones included)."""
    api = endpoint._require()
    try:
        summaries = api.images()
        containers = api.containers(all=True)
    except Exception as exc:
        raise _fail(endpoint, exc) from None
    users: dict[str, list[str]] = {}
    for container in containers:
        names = container.get("Names") or [container.get("Id", "")[:12]]
        users.setdefault(str(container.get("ImageID") or ""), []).append(
            str(names[0]).lstrip("/"))
    images = []
    for summary in summaries:
        image_id = str(summary.get("Id") or "")
        images.append(Image(
            host=endpoint.host, id=image_id,
            tags=tuple(sorted(t for t in summary.get("RepoTags") or () if not _none(t))),
            size=int(summary.get("Size") or 0), created=float(summary.get("Created") or 0),
            used_by=tuple(sorted(users.get(image_id, ()))),
            digests=tuple(sorted(d for d in summary.get("RepoDigests") or ()
                                 if not _none(d)))))
    return images


@bounded
def tag_image(endpoint: DockerEndpoint, source: str, target: str) -> None:
    """`docker tag SOURCE TARGET` (TARGET without a tag: latest)."""
    from docker import utils

    api = endpoint._require()
    repository, tag = utils.parse_repository_tag(target)
    try:
        api.tag(source, repository, tag or "latest")
    except Exception as exc:
        raise _fail(endpoint, exc, source) from None


@bounded
def remove_image(endpoint: DockerEndpoint, reference: str, *, force: bool = False) -> list[str]:
    """`docker rmi [-f] REFERENCE`; what the daemon did ("untagged X", "deleted sha...")."""
    api = endpoint._require()
    try:
        done = api.remove_image(reference, force=force) or []
    except Exception as exc:
        raise _fail(endpoint, exc, reference) from None
    return [f"{key.lower()} {value}" for item in done for key, value in item.items()]


@bounded
def prune_dangling(endpoint: DockerEndpoint) -> tuple[int, int]:
    """`docker image prune`: (images deleted, bytes the daemon says it freed)."""
    api = endpoint._require()
    try:
        result = api.prune_images(filters={"dangling": True}) or {}
    except Exception as exc:
        raise _fail(endpoint, exc) from None
    deleted = [d for d in result.get("ImagesDeleted") or () if "Deleted" in d]
    return len(deleted), int(result.get("SpaceReclaimed") or 0)


@bounded
def login(endpoint: DockerEndpoint, registry: RegistryConfig, user: str,
          password: str) -> None:
    """Log the endpoint's client in (the daemon checks the login with the registry);
    the following pushes and pulls on this client carry it (docker.auth's headers)."""
    api = endpoint._require()
    try:
        api.login(username=user, password=password, reauth=True,
                  registry=None if registry.address == "docker.io" else registry.address)
    except Exception as exc:
        raise HostError(endpoint.host, f"login to {registry.address} as {user}: "
                        f"{_message(exc)}") from None


@dataclass
class PushProgress(PullProgress):
    """A push's events, summed as a pull's are."""

    phases: dict[str, str] = field(default_factory=lambda: PUSH_PHASES)
    verb: str = "pushing"

    def feed(self, event: dict[str, object]) -> PullStatus:
        status = str(event.get("status") or "")
        if status.startswith("Mounted from"):
            event = {**event, "status": "Mounted from"}
        return super().feed(event)


class ImagePush(ImagePull):
    """One push of `image` (repository:tag) to its registry, cancellable as a pull."""

    verb = "push"

    def _progress(self) -> PullProgress:
        return PushProgress(self.image)

    def _request(self, api: Any) -> Any:
        from docker import auth, utils

        repository, tag = utils.parse_repository_tag(self.image)
        registry, _name = auth.resolve_repository_name(repository)
        # The daemon wants the header on a push even without a login (an empty one).
        header = auth.get_config_header(api, registry) or auth.encode_header({})
        url = api._url("/images/{0}/push", repository)
        return api.post(url, params={"tag": tag or "latest"},
                        headers={"X-Registry-Auth": header}, stream=True, timeout=None)
