"""Host sources: the hosts of an ssh_config file or an Ansible inventory.

An operator with a rack already keeps its host list in `~/.ssh/config` or an Ansible
inventory; `[[hosts_from]]` reads it instead of a second list typed by hand. Reading a
source is separate from checking the TOML: a source that cannot be read is one message
(SourceError) and the hosts of the other sources still come up.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuivirt.errors import SourceError

#: ansible-inventory starts a whole Ansible (~1 s); a dynamic plugin may call an API.
ANSIBLE_TIMEOUT = 60.0
#: Groups every Ansible host is in: not tags.
_IMPLICIT_GROUPS = {"all", "ungrouped"}
_RANGE_RE = re.compile(r"\[(\d+):(\d+)\]")


@dataclass(frozen=True, slots=True)
class FoundHost:
    """One host a source names, before the source's defaults are added."""

    name: str
    address: str  # what SSH connects to: an ssh_config alias, or ansible_host
    user: str | None = None
    port: int | None = None
    identity: str | None = None  # ansible_ssh_private_key_file
    local: bool = False  # ansible_connection=local: this machine, no SSH
    tags: tuple[str, ...] = ()
    variables: Mapping[str, Any] = field(default_factory=dict)


# -- ssh_config -------------------------------------------------------------------------------
def ssh_config_aliases(path: str, match: str = "*") -> list[str]:
    """Every concrete `Host` alias of an ssh_config (and its Includes) matching `match`.

    Patterns (`*`, `?`, `!negated`) name no host of their own; SSH resolves each alias
    itself when it connects (HostName, User, Port, IdentityFile, ProxyJump...).
    """
    found: list[str] = []
    _read_ssh_config(os.path.expanduser(path), found, depth=0)
    return [alias for alias in dict.fromkeys(found) if fnmatch.fnmatchcase(alias, match)]


def _read_ssh_config(path: str, found: list[str], depth: int) -> None:
    if depth > 16:
        raise SourceError(f"{path}: Include nested more than 16 deep")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = re.match(r"([^\s=]+)(?:\s*=\s*|\s+)?(.*)$", text)
        keyword, rest = (match[1].lower(), match[2]) if match else (text.lower(), "")
        try:
            args = shlex.split(rest, comments=True)
        except ValueError:
            args = rest.split()
        if keyword == "host":
            found.extend(a for a in args if not any(c in a for c in "*?!"))
        elif keyword == "include":
            for pattern in args:
                pattern = os.path.expanduser(pattern)
                if not os.path.isabs(pattern):  # as OpenSSH: relative to ~/.ssh
                    pattern = os.path.join(os.path.expanduser("~/.ssh"), pattern)
                for included in sorted(glob.glob(pattern)):
                    _read_ssh_config(included, found, depth + 1)


# -- Ansible ----------------------------------------------------------------------------------
def ansible_hosts(path: str, *, use_ansible: bool | None = None) -> list[FoundHost]:
    """The hosts of an Ansible inventory: `ansible-inventory --list` when it is on PATH
    (static and dynamic inventories alike), else our own reading of a static INI or YAML
    one. Groups (and their parents) become tags."""
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file")
    program = shutil.which("ansible-inventory") if use_ansible is not False else None
    if use_ansible and program is None:
        raise SourceError("ansible-inventory is not on PATH")
    if program is not None:
        return _from_listing(_run_ansible_inventory(program, path))
    if os.path.isdir(path):
        raise SourceError(f"{path}: an inventory directory needs ansible-inventory "
                          "(install ansible-core: pip install 'tuivirt[fleet]')")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from None
    if path.endswith((".yml", ".yaml", ".json")):
        return _from_listing(_yaml_listing(text, path))
    return _from_listing(_ini_listing(text, path))


def _run_ansible_inventory(program: str, path: str) -> dict[str, Any]:
    env = dict(os.environ)
    # Unparsable sources are warnings and an empty inventory by default: make them errors.
    env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "True"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    try:
        proc = subprocess.run([program, "-i", path, "--list"], capture_output=True,
                              text=True, timeout=ANSIBLE_TIMEOUT, env=env, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SourceError(f"ansible-inventory -i {path} --list: no answer after "
                          f"{ANSIBLE_TIMEOUT:g} s") from None
    except OSError as exc:
        raise SourceError(f"ansible-inventory: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        # Ansible's last words say what went wrong; the rest is a traceback or banner.
        reason = " ".join(lines[-3:])[:500] or f"exit status {proc.returncode}"
        raise SourceError(f"ansible-inventory -i {path} --list failed: {reason}")
    try:
        listing = json.loads(proc.stdout)
    except ValueError:
        raise SourceError(f"ansible-inventory -i {path} --list: not JSON") from None
    if not isinstance(listing, dict):
        raise SourceError(f"ansible-inventory -i {path} --list: not a JSON object")
    return listing


def _from_listing(listing: Mapping[str, Any]) -> list[FoundHost]:
    """Hosts from the shape `ansible-inventory --list` prints: groups with `hosts` and
    `children`, and `_meta.hostvars` (group vars already folded in)."""
    meta = listing.get("_meta") if isinstance(listing.get("_meta"), Mapping) else {}
    hostvars = meta.get("hostvars", {}) if isinstance(meta, Mapping) else {}
    children: dict[str, list[str]] = {}
    members: dict[str, list[str]] = {}
    for group, body in listing.items():
        if group == "_meta" or not isinstance(body, Mapping):
            continue
        children[group] = [str(c) for c in body.get("children", []) or []]
        members[group] = [str(h) for h in body.get("hosts", []) or []]
    tags: dict[str, list[str]] = {}
    order: list[str] = []

    def visit(group: str, ancestors: tuple[str, ...]) -> None:
        if group in ancestors:  # a cycle: Ansible refuses it too
            return
        chain = (*ancestors, group)
        for host in members.get(group, []):
            if host not in tags:
                tags[host] = []
                order.append(host)
            tags[host].extend(g for g in chain if g not in _IMPLICIT_GROUPS)
        for child in children.get(group, []):
            visit(child, chain)

    roots = ["all"] if "all" in members or "all" in children else list(members)
    for root in roots:
        visit(root, ())
    for group in members:  # groups not reachable from all (a hand-made listing)
        visit(group, ())
    for host in hostvars if isinstance(hostvars, Mapping) else {}:
        if host not in tags:
            tags[host] = []
            order.append(host)
    hosts = []
    for name in order:
        variables = hostvars.get(name, {}) if isinstance(hostvars, Mapping) else {}
        if not isinstance(variables, Mapping):
            variables = {}
        hosts.append(_found(name, variables, tuple(dict.fromkeys(tags[name]))))
    return hosts


def _found(name: str, variables: Mapping[str, Any], tags: tuple[str, ...]) -> FoundHost:
    def text(*keys: str) -> str | None:
        for key in keys:
            value = variables.get(key)
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    port_text = text("ansible_port", "ansible_ssh_port")
    port = int(port_text) if port_text and port_text.isdigit() else None
    identity = text("ansible_ssh_private_key_file", "ansible_private_key_file")
    return FoundHost(
        name=name, address=text("ansible_host", "ansible_ssh_host") or name,
        user=text("ansible_user", "ansible_ssh_user"), port=port,
        identity=os.path.expanduser(identity) if identity else None,
        local=text("ansible_connection") == "local", tags=tags, variables=dict(variables))


def _expand_range(pattern: str) -> list[str]:
    """Ansible's numeric host ranges: `kvm-[01:20]` is kvm-01 ... kvm-20."""
    match = _RANGE_RE.search(pattern)
    if match is None:
        return [pattern]
    first, last = match[1], match[2]
    width = len(first) if first.startswith("0") else 0
    names = []
    for number in range(int(first), int(last) + 1):
        names += _expand_range(pattern[:match.start()] + str(number).zfill(width)
                               + pattern[match.end():])
    return names


def _ini_value(value: str) -> Any:
    """INI values as Ansible reads them: quoted strings stay strings; numbers are numbers."""
    try:
        return int(value)
    except ValueError:
        return value


def _ini_listing(text: str, path: str) -> dict[str, Any]:
    """A static INI inventory in the shape `ansible-inventory --list` prints."""
    groups: dict[str, dict[str, Any]] = {"all": {"hosts": [], "children": [], "vars": {}},
                                         "ungrouped": {"hosts": [], "children": [],
                                                       "vars": {}}}
    own_vars: dict[str, dict[str, Any]] = {}
    section, kind = "ungrouped", "hosts"
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise SourceError(f"{path}:{number}: not a [group] header")
            section, _sep, kind = stripped[1:-1].strip().partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise SourceError(f"{path}:{number}: unknown section type {kind!r} "
                                  "(hosts, vars or children)")
            groups.setdefault(section, {"hosts": [], "children": [], "vars": {}})
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError as exc:
            raise SourceError(f"{path}:{number}: {exc}") from None
        if not words:
            continue
        group = groups[section]
        if kind == "vars":
            key, sep, value = stripped.partition("=")
            if not sep:
                raise SourceError(f"{path}:{number}: expected key=value")
            group["vars"][key.strip()] = _ini_value(" ".join(shlex.split(value)))
        elif kind == "children":
            groups.setdefault(words[0], {"hosts": [], "children": [], "vars": {}})
            group["children"].append(words[0])
        else:
            values: dict[str, Any] = {}
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise SourceError(f"{path}:{number}: expected key=value after the "
                                      f"host name, found {word!r}")
                values[key] = _ini_value(value)
            for name in _expand_range(words[0]):
                if name not in group["hosts"]:
                    group["hosts"].append(name)
                own_vars.setdefault(name, {}).update(values)
    return _listing(groups, own_vars)


def _yaml_listing(text: str, path: str) -> dict[str, Any]:
    """A static YAML inventory (`all: {hosts, children, vars}`) in the shape of --list."""
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise SourceError(f"{path}: reading a YAML inventory needs PyYAML or "
                          "ansible-core (pip install 'tuivirt[fleet]')") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise SourceError(f"{path}: not a YAML inventory (a mapping of groups)")
    groups: dict[str, dict[str, Any]] = {"all": {"hosts": [], "children": [], "vars": {}},
                                         "ungrouped": {"hosts": [], "children": [],
                                                       "vars": {}}}
    own_vars: dict[str, dict[str, Any]] = {}

    def group(name: str, body: Any) -> None:
        entry = groups.setdefault(name, {"hosts": [], "children": [], "vars": {}})
        if body is None:
            return
        if not isinstance(body, Mapping):
            raise SourceError(f"{path}: group {name!r} is not a mapping")
        for host, variables in (body.get("hosts") or {}).items():
            for expanded in _expand_range(str(host)):
                if expanded not in entry["hosts"]:
                    entry["hosts"].append(expanded)
                own_vars.setdefault(expanded, {})
                if isinstance(variables, Mapping):
                    own_vars[expanded].update(variables)
        if isinstance(body.get("vars"), Mapping):
            entry["vars"].update(body["vars"])
        for child, child_body in (body.get("children") or {}).items():
            entry["children"].append(str(child))
            group(str(child), child_body)

    for name, body in data.items():
        group(str(name), body)
    return _listing(groups, own_vars)


def _listing(groups: dict[str, dict[str, Any]],
             own_vars: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fold group vars into host vars as Ansible does (all < parent < child < host)."""
    top = set(groups) - {"all"} - {c for g in groups.values() for c in g["children"]}
    for name in sorted(top):
        if name not in groups["all"]["children"]:
            groups["all"]["children"].append(name)
    depth: dict[str, int] = {"all": 0}
    queue = ["all"]
    while queue:
        name = queue.pop(0)
        for child in groups[name]["children"]:
            if child in groups and depth.get(child, -1) < depth[name] + 1 <= len(groups):
                depth[child] = depth[name] + 1
                queue.append(child)
    parents: dict[str, set[str]] = {}
    for name, body in groups.items():
        for child in body["children"]:
            parents.setdefault(child, set()).add(name)

    def ancestry(name: str, seen: set[str]) -> set[str]:
        found = {name}
        for parent in parents.get(name, set()) - seen:
            found |= ancestry(parent, seen | {name})
        return found

    hostvars: dict[str, dict[str, Any]] = {}
    for host, variables in own_vars.items():
        mine = set()
        for name, body in groups.items():
            if host in body["hosts"]:
                mine |= ancestry(name, set())
        merged: dict[str, Any] = {}
        for name in sorted(mine | {"all"}, key=lambda g: (depth.get(g, 0), g)):
            merged.update(groups[name]["vars"])
        merged.update(variables)
        hostvars[host] = merged
    listing: dict[str, Any] = {name: {"hosts": body["hosts"], "children": body["children"]}
                               for name, body in groups.items()}
    listing["_meta"] = {"hostvars": hostvars}
    return listing
