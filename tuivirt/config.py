"""Hosts config: TOML -> frozen dataclasses; every error names the file, line and key."""

from __future__ import annotations

import fnmatch
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from tuivirt.errors import ConfigError, SourceError, unknown_host
from tuivirt.registries import RegistryConfig, parse_registries

HOST_KEYS = {
    "name", "libvirt", "docker", "ssh", "ssh_identity", "ssh_known_hosts",
    "read_only", "label", "tags",
}
TOP_KEYS = {"host", "hosts_from", "registry", "theme", "timeout", "ssh_handshakes"}
#: [[hosts_from]]: one of ssh_config / ansible, which hosts, and what they all get
SOURCE_KEYS = {
    "ssh_config", "ansible", "match", "libvirt", "docker", "ssh_identity",
    "ssh_known_hosts", "read_only", "label", "tags",
}
#: Below a stock sshd's MaxStartups (10:30:100: past 10 unauthenticated connections it
#: drops 30% of new ones): 100 hosts behind one sshd all come up, none is refused.
DEFAULT_SSH_HANDSHAKES = 8
MAX_SSH_HANDSHAKES = 256
DOCKER_SCHEMES = ("unix://", "tcp://", "http://", "https://")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SSH_RE = re.compile(r"^(?:(?P<user>[^@\s/]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^@:\s/\[\]]+)"
                     r"(?::(?P<port>\d+))?$")
_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)"
                     r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?$")
_AUTHORITY_RE = re.compile(r"^(?:(?P<user>[^@]*)@)?(?P<host>\[[^\]]*\]|[^:\[\]]*)"
                           r"(?::(?P<port>.*))?$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
MAX_TIMEOUT = 3600.0  # an hour: beyond that a "bound" is no bound (and 1e10 overflows)
# libvirt's drivers (libvirt.org/uri.html) and the modular daemons' own URIs
LIBVIRT_DRIVERS = frozenset({
    "qemu", "lxc", "xen", "libxl", "test", "vbox", "vmwareplayer", "vmwarews",
    "vmwarefusion", "esx", "gsx", "vpx", "hyperv", "bhyve", "ch", "vz", "openvz",
    "parallels", "phyp", "uml", "remote", "network", "nodedev", "nwfilter", "secret",
    "storage", "interface",
})
# transports that reach another machine: they need its name
NETWORK_TRANSPORTS = frozenset({"ssh", "libssh", "libssh2", "tcp", "tls"})
LIBVIRT_TRANSPORTS = NETWORK_TRANSPORTS | {"unix", "ext"}


@dataclass(frozen=True, slots=True)
class SSHTarget:
    """`user@host:port`; None parts come from ~/.ssh/config or the defaults."""

    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        text = f"{self.user}@{self.host}" if self.user else self.host
        return f"{text}:{self.port}" if self.port else text


@dataclass(frozen=True, slots=True)
class HostConfig:
    name: str
    libvirt: tuple[str, ...] = ()
    docker: str | None = None
    ssh: SSHTarget | None = None
    ssh_identity: str | None = None
    ssh_known_hosts: str | None = None
    read_only: bool = False
    label: str | None = None
    demo: bool = False  # the built-in demo host (libvirt's in-process test driver)
    tags: tuple[str, ...] = ()  # free-form groups ("rack3", "prod"): filter tag:NAME, --tag
    #: where the host came from: "config.toml:12", "ssh_config ~/.ssh/config", "ansible inv"
    source: str = ""
    #: the ssh_config file that resolves `ssh.host` (an alias: HostName, User, Port,
    #: IdentityFile, ProxyJump, UserKnownHostsFile, HostKeyAlias); None: ~/.ssh/config
    ssh_config: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    hosts: tuple[HostConfig, ...]
    path: str | None = None  # None: derived from the machine, not read from a file
    theme: str = "tuivirt-dark"
    timeout: float = 10.0  # seconds: bound on connecting to one host
    notes: tuple[str, ...] = field(default=())  # things to tell the user (e.g. demo mode)
    registries: tuple[RegistryConfig, ...] = ()  # [[registry]]: logins for push and pull
    #: host sources that could not be read, and name clashes (also in notes): the hosts
    #: of the other sources come up, and `tuivirt list` exits 1
    problems: tuple[str, ...] = field(default=())
    ssh_handshakes: int = DEFAULT_SSH_HANDSHAKES  # SSH handshakes at once, process-wide
    #: `--tag` on the command line: the tags asked for, and the hosts they left out
    tag_filter: tuple[str, ...] = field(default=())
    untagged: tuple[str, ...] = field(default=())

    def host(self, name: str) -> HostConfig:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(unknown_host(name, (h.name for h in self.hosts)))


def _key_line(text: str, key: str, host_index: int | None,
              table: str = "host") -> int | None:
    """The 1-based line where `key` is set in the Nth [[host]] table (or at top level).

    With an empty key, the line of that [[host]] header itself. `table`: another array
    of tables ([[hosts_from]]).
    """
    section: int | None = None  # None: top level; -1: some other table; N: Nth [[host]]
    hosts_seen = -1
    key_re = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    # A table header that sets the key: `[timeout]` at top level, `[host.KEY]` in a host
    prefix = (r"\[?\s*" if host_index is None
              else rf"\[?\s*{re.escape(table)}\s*\.\s*")
    header_re = re.compile(rf"^\[{prefix}(?:{re.escape(key)}|\"{re.escape(key)}\")\s*[\].]")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        in_host = section == host_index or (section == -1 and hosts_seen == host_index)
        if key and header_re.match(stripped) and (host_index is None or in_host):
            return number
        if re.match(rf"^\[\[\s*{re.escape(table)}\s*\]\]", stripped):
            hosts_seen += 1
            section = hosts_seen
            if key == "" and section == host_index:
                return number
        elif stripped.startswith("["):
            section = -1
        elif key and section == host_index and key_re.match(line):
            return number
    return None


def _unknown(key: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}known keys: {', '.join(sorted(known))}"


def parse_ssh(value: str) -> SSHTarget:
    match = _SSH_RE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not of the form user@host:port")
    host = match["host"].strip("[]")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return SSHTarget(host=host, user=match["user"], port=port)


def timeout_problem(value: object) -> str | None:
    """Why `value` is not a usable timeout in seconds, or None (config and --timeout)."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT):
        return f"must be a positive number of seconds, at most {MAX_TIMEOUT:g}"
    return None


def _host_problem(host: str) -> str | None:
    """Why `host` (as written in a URI's authority) is not a host name or address."""
    import ipaddress  # ~1 ms, and only for hosts named by address
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    if not host:
        return "no host name"
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{host!r} is not an IPv4 address"
        return None
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        return f"{host!r} is not a host name"
    return None


def _authority_problem(authority: str, *, port_required: bool) -> str | None:
    """Check `user@host:port`; None when it is well-formed."""
    match = _AUTHORITY_RE.match(authority)
    if match is None:
        return f"{authority!r} is not of the form user@host:port"
    problem = _host_problem(match["host"])
    if problem:
        return problem
    port = match["port"]
    if port is None:
        return "needs a port (host:port)" if port_required else None
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"port {port!r} is not a number from 1 to 65535"
    return None


def libvirt_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a libvirt connection URI, or None (libvirt.org/uri.html)."""
    match = _URL_RE.match(uri)
    if match is None:
        return f"{uri!r} is not a libvirt URI (e.g. qemu:///system)"
    driver, _, transport = match["scheme"].lower().partition("+")
    if driver not in LIBVIRT_DRIVERS:
        return (f"{uri!r}: unknown libvirt driver {driver!r} "
                f"(known: {', '.join(sorted(LIBVIRT_DRIVERS))})")
    if transport and transport not in LIBVIRT_TRANSPORTS:
        return (f"{uri!r}: unknown transport {transport!r} "
                f"(known: {', '.join(sorted(LIBVIRT_TRANSPORTS))})")
    authority = match["authority"]
    if transport in NETWORK_TRANSPORTS and not authority:
        return (f"{uri!r}: the {transport} transport needs a host "
                f"(e.g. {driver}+{transport}://root@host/system)")
    if authority:
        problem = _authority_problem(authority, port_required=False)
        if problem:
            return f"{uri!r}: {problem}"
    if driver == "qemu" and match["path"] not in ("/system", "/session", "/embed"):
        return f"{uri!r}: a QEMU URI ends in /system or /session (e.g. qemu:///system)"
    return None


def docker_url_problem(url: str) -> str | None:
    """Why `url` is not a Docker endpoint we can open, or None.

    A TCP endpoint needs its port: Docker's SDK refuses `tcp://host` at connect time
    ("port is required"), and guessing 2375 (plain text) or 2376 (TLS) for the user
    would hide a choice that decides whether the root-equivalent API is encrypted.
    """
    match = _URL_RE.match(url)
    scheme = match["scheme"].lower() if match else ""
    if match is None or f"{scheme}://" not in DOCKER_SCHEMES:
        return f"{url!r} is not a Docker endpoint (unix:///… or tcp://host:port)"
    if scheme == "unix":
        path = match["authority"] + match["path"]
        if match["authority"] or not path.startswith("/") or match["query"] is not None:
            return f"{url!r}: needs an absolute socket path (unix:///var/run/docker.sock)"
        return None
    if match["query"] is not None or match["fragment"] or match["path"].strip("/"):
        return f"{url!r}: write {scheme}://host:port, nothing after the port"
    if "@" in match["authority"]:
        return f"{url!r}: no user@ in a Docker endpoint"
    problem = _authority_problem(match["authority"], port_required=True)
    if problem == "needs a port (host:port)":
        problem = "needs a port (Docker's are 2375, or 2376 with TLS)"
    return f"{url!r}: {problem}" if problem else None


def _toml_string(value: str) -> str:
    import json

    return json.dumps(value)  # a TOML basic string for what JSON can write


def _valid_colour(value: str) -> bool:
    from rich.color import Color, ColorParseError

    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def parse_config(text: str, path: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match[1]) if match else None
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(path, f"not valid TOML: {message}", line=line) from None

    def fail(message: str, key: str, index: int | None, table: str = "host") -> ConfigError:
        line = _key_line(text, key.split(".")[-1], index, table)
        if line is None and index is not None:
            line = _key_line(text, "", index, table)
        return ConfigError(path, message, line=line, key=key)

    for key in data:
        if key not in TOP_KEYS:
            raise fail(_unknown(key, TOP_KEYS), key, None)
    theme = data.get("theme", "tuivirt-dark")
    if not isinstance(theme, str):
        raise fail("must be a string", "theme", None)
    timeout = data.get("timeout", 10.0)
    problem = timeout_problem(timeout)
    if problem:
        raise fail(problem, "timeout", None)
    handshakes = data.get("ssh_handshakes", DEFAULT_SSH_HANDSHAKES)
    if (isinstance(handshakes, bool) or not isinstance(handshakes, int)
            or not 1 <= handshakes <= MAX_SSH_HANDSHAKES):
        raise fail(f"must be a whole number from 1 to {MAX_SSH_HANDSHAKES}",
                   "ssh_handshakes", None)
    raw_hosts = data.get("host", [])
    if not isinstance(raw_hosts, list) or not all(isinstance(h, Mapping) for h in raw_hosts):
        raise fail("must be an array of tables: [[host]]", "host", None)
    raw_sources = data.get("hosts_from", [])
    if not isinstance(raw_sources, list) or not all(isinstance(h, Mapping)
                                                    for h in raw_sources):
        raise fail("must be an array of tables: [[hosts_from]]", "hosts_from", None)
    if not raw_hosts and not raw_sources:
        message = "no hosts configured: add at least one [[host]] table"
        if "host" in data:  # `host = []`: point at it
            raise fail(message, "host", None)
        raise ConfigError(path, message)

    hosts: list[HostConfig] = []
    seen: set[str] = set()
    where_file = os.path.basename(path)
    # Each [[host]]'s header line, found once (not per host: 100 hosts took 0.1 s).
    headers = [n for n, line in enumerate(text.splitlines(), start=1)
               if re.match(r"^\s*\[\[\s*host\s*\]\]", line)]
    for index, raw in enumerate(raw_hosts):
        host = _parse_host(raw, index, fail)
        line = headers[index] if index < len(headers) else _key_line(text, "", index)
        hosts.append(replace(host, source=f"{where_file}:{line}"))
        if hosts[-1].name in seen:
            raise fail(f"host name {hosts[-1].name!r} is used twice", f"host[{index}].name", index)
        seen.add(hosts[-1].name)
    registries = parse_registries(data.get("registry", []),
                                  lambda m, k, i: fail(m, k, i, "registry"))
    # Every source's table is checked before any is read: a typo is still exit 2.
    sources = [_parse_source(raw, index, fail) for index, raw in enumerate(raw_sources)]
    notes: list[str] = []
    problems: list[str] = []
    by_name = {h.name: h for h in hosts}
    for index, (template, kind, value, pattern) in enumerate(sources):
        line = _key_line(text, "", index, "hosts_from")
        label = f"hosts_from[{index}] ({kind} {value}, {where_file}:{line})"
        try:
            found = _read_source(template, kind, value, pattern, notes, label)
        except SourceError as exc:
            problems.append(f"{label}: {exc}; its hosts are not listed")
            continue
        if not found:
            notes.append(f"{label}: no host matches")
        for host in found:
            other = by_name.get(host.name)
            if other is not None:
                problems.append(f"host {host.name!r} of {host.source} clashes with "
                                f"{host.name!r} of {other.source}: the first is used; "
                                "rename or leave out one of them")
                continue
            by_name[host.name] = host
            hosts.append(host)
    if not hosts:
        raise ConfigError(path, "no hosts: " + "; ".join(problems or notes or ["none found"]))
    return Config(hosts=tuple(hosts), path=path, theme=theme, timeout=float(timeout),
                  notes=tuple(notes + problems), problems=tuple(problems),
                  ssh_handshakes=handshakes, registries=registries)


def _parse_source(raw: Mapping[str, Any], index: int,
                  fail: Any) -> tuple[HostConfig, str, str, str]:
    """One [[hosts_from]] table, checked: (the defaults as a host, kind, value, match)."""
    where = f"hosts_from[{index}]"

    def fail_here(message: str, key: str, _index: int | None = None) -> ConfigError:
        return cast(ConfigError, fail(message, key, index, "hosts_from"))

    for key in raw:
        if key not in SOURCE_KEYS:
            raise fail_here(_unknown(key, SOURCE_KEYS), f"{where}.{key}")
    kinds = [k for k in ("ssh_config", "ansible") if k in raw]
    if len(kinds) != 1:
        raise fail_here("needs exactly one of ssh_config = \"FILE\" or ansible = \"PATH\"",
                        f"{where}.{kinds[1] if kinds else 'ssh_config'}")
    kind = kinds[0]
    value = raw[kind]
    if not isinstance(value, str) or not value.strip():
        raise fail_here("must be a path (a string)", f"{where}.{kind}")
    match = raw.get("match", "*")
    if not isinstance(match, str) or not match:
        raise fail_here("must be a glob of host names, e.g. \"kvm-*\"", f"{where}.match")
    defaults = {k: v for k, v in raw.items() if k in HOST_KEYS}
    # Checked as a host would be (types, URIs, files), under a stand-in name and address.
    template = _parse_host({**defaults, "name": "source", "ssh": "source"}, index, fail_here,
                           where=where)
    return template, kind, value, match


def _read_source(template: HostConfig, kind: str, value: str, match: str,
                 notes: list[str], label: str) -> list[HostConfig]:
    """The hosts one source names, each with the source's defaults; SourceError if the
    source cannot be read. Names a host cannot have are left out, with a note."""
    from tuivirt import sources

    source = f"{kind} {value}"
    hosts: list[HostConfig] = []
    skipped: list[str] = []

    def tags_of(extra: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*template.tags,
                                    *(t for t in extra if tag_problem(t) is None))))

    if kind == "ssh_config":
        path = os.path.expanduser(value)
        for alias in sources.ssh_config_aliases(path, match):
            if not _NAME_RE.match(alias):
                skipped.append(alias)
                continue
            hosts.append(replace(template, name=alias, ssh=SSHTarget(host=alias),
                                 ssh_config=path, source=source, tags=tags_of(())))
    else:
        for found in sources.ansible_hosts(value):
            if not fnmatch.fnmatchcase(found.name, match):
                continue
            if not _NAME_RE.match(found.name):
                skipped.append(found.name)
                continue
            target = None if found.local else SSHTarget(
                host=found.address.strip("[]"), user=found.user,
                port=found.port if found.port and 0 < found.port < 65536 else None)
            hosts.append(replace(
                template, name=found.name, ssh=target, source=source,
                ssh_identity=found.identity or template.ssh_identity,
                ssh_known_hosts=None if target is None else template.ssh_known_hosts,
                tags=tags_of(found.tags)))
    if skipped:
        from tuivirt.text import inert

        notes.append(f"{label}: left out {len(skipped)} host(s) whose names tuivirt cannot "
                     f"use (letters, digits, '.', '_', '-'): "
                     f"{', '.join(inert(s) for s in skipped[:5])}")
    return hosts


def _parse_host(raw: Mapping[str, Any], index: int, fail: Any,
                where: str | None = None) -> HostConfig:
    """One [[host]] table (or, with `where`, the defaults of a [[hosts_from]])."""
    source_defaults = where is not None
    where = where or f"host[{index}]"
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise fail("every host needs a name (a string)", f"{where}.name", index)
    if not _NAME_RE.match(name):
        raise fail(f"{name!r}: use letters, digits, '.', '_' or '-' (no '/')",
                   f"{where}.name", index)
    if not source_defaults:
        where = f"host[{index}] ({name})"
    for key in raw:
        if key not in HOST_KEYS:
            raise fail(_unknown(key, HOST_KEYS), f"{where}.{key}", index)

    libvirt = raw.get("libvirt", [])
    if isinstance(libvirt, str):
        raise fail(f"must be a list of libvirt URIs: libvirt = [{_toml_string(libvirt)}]",
                   f"{where}.libvirt", index)
    if not isinstance(libvirt, list) or not all(isinstance(u, str) for u in libvirt):
        raise fail("must be a list of libvirt URIs", f"{where}.libvirt", index)
    for uri in libvirt:
        problem = libvirt_uri_problem(uri)
        if problem:
            raise fail(problem, f"{where}.libvirt", index)
    docker = raw.get("docker")
    if docker is not None:
        problem = (docker_url_problem(docker) if isinstance(docker, str)
                   else f"{docker!r} is not a Docker endpoint (unix:///… or tcp://host:port)")
        if problem:
            raise fail(problem, f"{where}.docker", index)
    if not libvirt and docker is None:
        raise fail("a host needs at least one of libvirt = [...] or docker = \"...\"",
                   f"{where}.libvirt", index)

    ssh = raw.get("ssh")
    target = None
    if ssh is not None:
        if not isinstance(ssh, str):
            raise fail("must be a string like user@host:port", f"{where}.ssh", index)
        try:
            target = parse_ssh(ssh)
        except ValueError as exc:
            raise fail(str(exc), f"{where}.ssh", index) from None
        if docker and not docker.startswith("unix://"):
            raise fail("over ssh, docker must be the remote unix socket (unix:///…)",
                       f"{where}.docker", index)
    files: dict[str, str | None] = {}
    for key in ("ssh_identity", "ssh_known_hosts"):
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise fail("must be a file path", f"{where}.{key}", index)
            if ssh is None:
                raise fail("only makes sense with ssh = \"user@host\"", f"{where}.{key}", index)
            value = os.path.expanduser(value)
            if not os.path.isfile(value):
                what = "is not a file" if os.path.exists(value) else "does not exist"
                raise fail(f"{value!r} {what}", f"{where}.{key}", index)
        files[key] = value
    read_only = raw.get("read_only", False)
    if not isinstance(read_only, bool):
        raise fail("must be true or false", f"{where}.read_only", index)
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not _valid_colour(label)):
        raise fail(f"{label!r} is not a colour (a name like \"red\" or \"#ff8800\")",
                   f"{where}.label", index)
    tags = raw.get("tags", [])
    if isinstance(tags, str):
        raise fail(f"must be a list of tags: tags = [{_toml_string(tags)}]",
                   f"{where}.tags", index)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise fail("must be a list of tags (strings)", f"{where}.tags", index)
    for tag in tags:
        problem = tag_problem(tag)
        if problem:
            raise fail(problem, f"{where}.tags", index)
    return HostConfig(name=name, libvirt=tuple(libvirt), docker=docker, ssh=target,
                      ssh_identity=files["ssh_identity"],
                      ssh_known_hosts=files["ssh_known_hosts"], read_only=read_only,
                      label=label, tags=tuple(dict.fromkeys(tags)))


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot be a host's tag (None when it can): tags are typed in filters."""
    if not _NAME_RE.match(tag):
        return f"{tag!r} is not a tag: use letters, digits, '.', '_' or '-'"
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read `path`, else the XDG config file, else what this machine has."""
    if path is None:
        from tuivirt import paths

        default = paths.config_file()
        if not default.exists():
            return detect_local()
        path = default
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from None
    return parse_config(text, path)


def demo_node_path() -> str:
    from importlib import resources

    return str(resources.files("tuivirt.demo").joinpath("node.xml"))


def demo_host() -> HostConfig:
    return HostConfig(name="demo", libvirt=(f"test://{demo_node_path()}",), demo=True)


def detect_local() -> Config:
    """No config file: use the local libvirt and Docker sockets, or the demo host."""
    import shutil
    from glob import glob

    libvirt: list[str] = []
    if any(os.path.exists(s) for s in ("/run/libvirt/libvirt-sock",
                                       "/run/libvirt/virtqemud-sock")):
        libvirt.append("qemu:///system")
    if (os.path.exists("/run/libvirt/libvirt-sock") and (
        glob("/usr/lib/*/libvirt/connection-driver/libvirt_driver_lxc.so")
        or glob("/usr/lib*/libvirt/connection-driver/libvirt_driver_lxc.so")
    )) or os.path.exists("/run/libvirt/virtlxcd-sock"):
        libvirt.append("lxc:///system")
    docker = None
    for sock in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(sock):
            docker = f"unix://{sock}"
            break
    if libvirt or docker:
        return Config(hosts=(HostConfig(name="local", libvirt=tuple(libvirt), docker=docker),))
    note = ("no hypervisor found on this machine (no libvirt or Docker socket): "
            "showing the built-in demo host")
    if shutil.which("libvirtd") or shutil.which("dockerd"):
        note += "; is the daemon running?"
    return Config(hosts=(demo_host(),), notes=(note,))
