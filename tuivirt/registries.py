"""Docker registries of the config (`[[registry]]`) and the logins they give.

    [[registry]]
    url = "registry.example.com:5000"     # host[:port], or with http:// or https://
    credentials = "~/.config/tuivirt/registry.creds"   # optional

The credentials file holds `user:password` on its first line, or is a Docker
`config.json` (its `auths`, or the credential store / helpers it names, which the Docker
SDK runs). A password never sits in the config itself, and never appears in a message.
The file is read when a push or pull needs it, not when the config is, so `tuivirt list`
does not touch secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuivirt.errors import ConfigError, TuivirtError

REGISTRY_KEYS = {"url", "credentials"}
_URL_RE = re.compile(r"^(?:(?P<scheme>https?)://)?(?P<address>[^/\s]+?)"
                     r"(?P<path>/(?:v[12]/?)?)?$")
_ADDRESS_RE = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*"
                         r"[A-Za-z0-9])?)(?::(?P<port>\d+))?$")
#: Docker Hub's other spellings: images on it resolve to "docker.io".
_HUB = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

Fail = Callable[[str, str, int | None], ConfigError]


class RegistryError(TuivirtError):
    """A registry's credentials cannot be used (the file, not the secret, is named)."""


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    address: str  # host[:port], as Docker names the registry of an image reference
    url: str  # as written in the config
    credentials: str | None = None  # path of the credentials file (expanded)


def registry_address(url: str) -> str:
    """`host[:port]` of a registry URL (ValueError when it is none), Hub as docker.io."""
    match = _URL_RE.match(url.strip())
    address = match["address"] if match else ""
    found = _ADDRESS_RE.match(address)
    if match is None or found is None:
        raise ValueError(f"{url!r} is not a registry address (host:port, or "
                         "https://host:port)")
    port = found["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{url!r}: port {port} is out of range")
    address = address.lower()
    return "docker.io" if address in _HUB else address


def image_registry(reference: str) -> str:
    """The registry an image reference lives on (`10.77.0.2:5000/app:1` ->
    `10.77.0.2:5000`, `alpine` -> `docker.io`), as Docker decides it."""
    first, sep, _rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return "docker.io"


def parse_registries(raw: object, fail: Fail) -> tuple[RegistryConfig, ...]:
    """The [[registry]] tables, each checked; errors name the file, line and key."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise fail("must be an array of tables: [[registry]]", "registry", None)
    found: list[RegistryConfig] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        found.append(_parse_one(table, index, fail))
        address = found[-1].address
        if address in seen:
            raise fail(f"registry {address!r} is configured twice (also registry"
                       f"[{seen[address]}])", f"registry[{index}].url", index)
        seen[address] = index
    return tuple(found)


def _parse_one(raw: Mapping[str, Any], index: int, fail: Fail) -> RegistryConfig:
    where = f"registry[{index}]"
    for key in raw:
        if key not in REGISTRY_KEYS:
            from difflib import get_close_matches

            close = get_close_matches(key, sorted(REGISTRY_KEYS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            if key in ("password", "username", "user", "auth", "token"):
                hint = "a secret never goes in the config: put it in a file named by " \
                       "credentials = \"PATH\"; "
            raise fail(f"unknown key; {hint}known keys: {', '.join(sorted(REGISTRY_KEYS))}",
                       f"{where}.{key}", index)
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise fail("every registry needs a url (a string like \"registry:5000\")",
                   f"{where}.url", index)
    try:
        address = registry_address(url)
    except ValueError as exc:
        raise fail(str(exc), f"{where}.url", index) from None
    where = f"registry[{index}] ({address})"
    credentials = raw.get("credentials")
    if credentials is not None:
        if not isinstance(credentials, str) or not credentials:
            raise fail("must be a file path", f"{where}.credentials", index)
        credentials = os.path.expanduser(credentials)
        if not os.path.isfile(credentials):
            what = "is not a file" if os.path.exists(credentials) else "does not exist"
            raise fail(f"{credentials!r} {what}", f"{where}.credentials", index)
    return RegistryConfig(address=address, url=url, credentials=credentials)


def for_image(registries: tuple[RegistryConfig, ...], reference: str) -> RegistryConfig | None:
    """The configured registry of an image reference, if there is one."""
    wanted = image_registry(reference)
    return next((r for r in registries if r.address == wanted), None)


def read_credentials(registry: RegistryConfig) -> tuple[str, str] | None:
    """(user, password) from the registry's credentials file; None without one.

    RegistryError names the file and what is wrong with it, never what it holds.
    """
    path = registry.credentials
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(1 << 20)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise RegistryError(f"credentials file {path}: cannot read it ({reason})") from None
    if text.lstrip().startswith("{"):
        return _from_docker_config(path, registry.address)
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    user, sep, password = line.partition(":")
    if not sep or not user or not password:
        raise RegistryError(f"credentials file {path}: its first line is not "
                            "user:password (nor is the file a Docker config.json)")
    return user, password


def _from_docker_config(path: str, address: str) -> tuple[str, str]:
    from docker import auth, errors

    try:
        config = auth.load_config(path)
        found = config.resolve_authconfig(address)
    except (errors.DockerException, ValueError, KeyError, OSError) as exc:
        raise RegistryError(f"credentials file {path}: a Docker config.json that cannot "
                            f"be used ({type(exc).__name__})") from None
    user = (found or {}).get("username") or (found or {}).get("Username")
    password = (found or {}).get("password") or (found or {}).get("Password")
    if not user or not password:
        raise RegistryError(f"credentials file {path}: no login for {address} in it")
    return str(user), str(password)
