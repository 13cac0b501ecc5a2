"""A container's resource usage, read once (the table's CPU % and memory)."""

from __future__ import annotations

from typing import Any

from tuivirt.errors import HostError


def one_shot_stats(api: Any, host: str, endpoint: str, container_id: str) -> dict[str, Any] | None:
    """`GET /containers/ID/stats?stream=0&one-shot=1`: the counters now, answered at once
    (without one-shot Docker waits for a second sample, 1-2 s a container). None when
    the container is gone; HostError when the daemon does not answer.

    Before API 1.41 there is no one-shot: the plain call (two samples, once).
    """
    import docker.errors

    try:
        try:
            return dict(api.stats(container_id, stream=False, one_shot=True))
        except docker.errors.InvalidVersion:
            return dict(api.stats(container_id, stream=False))
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # not running (any more)
            return None
        raise HostError(host, f"{endpoint}: stats: {exc.explanation or exc}") from None
    except Exception as exc:
        from tuivirt.backends.docker import _message

        raise HostError(host, f"{endpoint}: stats: {_message(exc)}") from None
