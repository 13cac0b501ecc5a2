"""An LXC system container from a directory on the host (a chroot tree): the spec a user
fills in, its checks that need no host, the domain XML built from it, and the shell
check run on the host itself (the directory exists, holds an executable init).

lxml is imported inside lxc_xml: importing this module stays cheap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_INIT = "/sbin/init"
DEFAULT_MEMORY = 256 * 2**20
#: Below this an LXC container's init (even busybox) gets OOM-killed as it starts.
MIN_MEMORY = 16 * 2**20


class NetKind(StrEnum):
    NETWORK = "network"  # a libvirt network of the host, by name
    BRIDGE = "bridge"  # a bridge device of the host
    NONE = "none"  # no interface: the container has only loopback


@dataclass(frozen=True)
class NetworkChoice:
    kind: NetKind = NetKind.NONE
    name: str = ""

    def describe(self) -> str:
        return "no network" if self.kind is NetKind.NONE else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class LXCSpec:
    """What `tuivirt create lxc` (and later the `n` dialog) asks for."""

    host: str
    name: str
    root: str
    init: str = DEFAULT_INIT
    memory: int = DEFAULT_MEMORY  # bytes
    vcpus: int | None = None
    network: NetworkChoice = NetworkChoice()
    #: Stated in the XML: should a domain of that name appear between our check and the
    #: define, libvirt refuses ("already exists with uuid") instead of redefining it.
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def problems(self) -> list[str]:
        """What is wrong with the spec itself, before any host is asked."""
        found = []
        name_problem = domain_name_problem(self.name)
        if name_problem:
            found.append(name_problem)
        if not self.root.startswith("/"):
            found.append(f"the root directory must be an absolute path on the host: "
                         f"{self.root!r}")
        if not self.init.startswith("/"):
            found.append(f"the init must be an absolute path inside the root: "
                         f"{self.init!r}")
        for what, text in (("root directory", self.root), ("init", self.init),
                           ("network", self.network.name)):
            if any(ord(c) < 32 or ord(c) == 127 for c in text):
                found.append(f"the {what} cannot hold control characters: {text!r}")
        if self.memory < MIN_MEMORY:
            found.append(f"memory: at least {MIN_MEMORY // 2**20} MiB (an init needs "
                         "room to start)")
        if self.vcpus is not None and not 1 <= self.vcpus <= 4096:
            found.append(f"vcpus: 1 to 4096, not {self.vcpus}")
        if self.network.kind is not NetKind.NONE and not self.network.name.strip():
            found.append(f"the {self.network.kind} needs a name")
        return found


def domain_name_problem(name: str) -> str | None:
    """Why libvirt (or a tuivirt address) cannot take `name` for a domain, or None."""
    if not name.strip():
        return "the name cannot be empty"
    if "/" in name:
        return f"a name cannot hold '/' (it separates host and name): {name!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"a name cannot hold control characters: {name!r}"
    if name != name.strip():
        return f"a name cannot start or end with spaces: {name!r}"
    return None


def lxc_xml(spec: LXCSpec) -> str:
    """The domain definition: the root directory mounted as /, the init, a console."""
    from lxml import etree

    domain = etree.Element("domain", type="lxc")
    etree.SubElement(domain, "name").text = spec.name
    etree.SubElement(domain, "uuid").text = spec.uuid
    etree.SubElement(domain, "memory", unit="KiB").text = str(spec.memory // 1024)
    if spec.vcpus is not None:
        etree.SubElement(domain, "vcpu").text = str(spec.vcpus)
    os_element = etree.SubElement(domain, "os")
    etree.SubElement(os_element, "type").text = "exe"
    etree.SubElement(os_element, "init").text = spec.init
    devices = etree.SubElement(domain, "devices")
    filesystem = etree.SubElement(devices, "filesystem", type="mount")
    etree.SubElement(filesystem, "source", dir=spec.root)
    etree.SubElement(filesystem, "target", dir="/")
    if spec.network.kind is NetKind.NETWORK:
        interface = etree.SubElement(devices, "interface", type="network")
        etree.SubElement(interface, "source", network=spec.network.name)
    elif spec.network.kind is NetKind.BRIDGE:
        interface = etree.SubElement(devices, "interface", type="bridge")
        etree.SubElement(interface, "source", bridge=spec.network.name)
    etree.SubElement(devices, "console", type="pty")
    etree.indent(domain, space="  ")
    return str(etree.tostring(domain, encoding="unicode")) + "\n"


#: Run on the host (locally with sh, or over the host's SSH connection) with the root
#: directory and the init as $1 and $2. The init is resolved inside the root the way the
#: container will see it: each symlink on the way (a merged-/usr `/sbin -> usr/sbin`,
#: an `/sbin/init -> /lib/systemd/systemd`) is followed relative to the root, never to
#: the host's own /, so a host's systemd cannot stand in for a missing one. One line out:
#: "ok RESOLVED" or "KIND DETAIL" for ROOT_PROBLEMS.
ROOT_CHECK = r"""
root=$1 rest=$2 cur= hops=0
[ -e "$root" ] || { echo missing; exit 0; }
[ -d "$root" ] || { echo notdir; exit 0; }
while [ -n "$rest" ]; do
  while :; do case $rest in /*) rest=${rest#/};; *) break;; esac; done
  [ -n "$rest" ] || break
  case $rest in */*) c=${rest%%/*}; rest=${rest#*/};; *) c=$rest; rest=;; esac
  case $c in .) continue;; ..) cur=${cur%/*}; continue;; esac
  if [ -L "$root$cur/$c" ]; then
    hops=$((hops + 1))
    [ "$hops" -le 40 ] || { echo loop "$2"; exit 0; }
    t=$(readlink -- "$root$cur/$c")
    case $t in /*) cur=;; esac
    rest="$t/$rest"
  else
    cur="$cur/$c"
  fi
done
f="$root$cur"
[ -e "$f" ] || { echo noinit "$cur"; exit 0; }
[ -f "$f" ] || { echo notfile "$cur"; exit 0; }
[ -x "$f" ] || { echo notexec "$cur"; exit 0; }
echo ok "$cur"
"""


def root_problem(output: str, spec: LXCSpec, host: str) -> str | None:
    """ROOT_CHECK's answer in words (None: the init is there and executable)."""
    kind, _, detail = output.strip().partition(" ")
    resolved = "" if detail == spec.init else f" (resolved inside the root to {detail})"
    words = {
        "ok": None,
        "missing": f"no directory {spec.root} on {host}",
        "notdir": f"{spec.root} on {host} is not a directory",
        "loop": f"{spec.init} in {spec.root}: too many levels of symbolic links",
        "noinit": f"{spec.root} on {host} holds no init {spec.init}{resolved}: pass "
                  "--init with the container's init (e.g. /bin/sh)",
        "notfile": f"the init {spec.init} in {spec.root} on {host} is not a file"
                   f"{resolved}",
        "notexec": f"the init {spec.init} in {spec.root} on {host} is not executable"
                   f"{resolved}",
    }
    if kind not in words:
        return f"checking {spec.root} on {host} failed: {output.strip() or 'no answer'}"
    return words[kind]
