"""The new-guest forms (`n`): a VM, an LXC container, a Docker container; their fields,
and what was typed turned into a spec, or a message.

Checked here before any daemon is asked, so that a typo costs no round trip and the form
comes back with what was typed. What needs the host (a name taken, a missing file, a pool
without room) is the session's check, run next.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tuivirt.create import container as ct
from tuivirt.create.caps import HostOptions
from tuivirt.create.lxc import DEFAULT_INIT, LXCSpec, NetKind, NetworkChoice
from tuivirt.create.vm import DiskPath, KernelBoot, NewVolume, Nic, PoolVolume, VMSpec
from tuivirt.sizes import SizeError, human_size, parse_size
from tuivirt.ui.common.dialogs import Field

NO, YES = "no", "yes"


@dataclass(frozen=True, slots=True)
class Choice:
    """What the form asked for, beyond the spec: start once made."""
    start: bool


def vm_fields(options: HostOptions, pools: list[str],
              values: dict[str, str] | None = None) -> list[Field]:
    typed = values or {}
    archs = tuple(options.arch_names())
    pool = pools[0] if pools else "POOL"
    return [
        Field("name", "Name", typed.get("name", ""), placeholder="e.g. web1"),
        Field("arch", "Architecture", typed.get("arch", options.default_arch or ""),
              options=archs),
        Field("machine", "Machine (empty: the one proposed)",
              typed.get("machine", "")),
        Field("vcpus", "vCPUs", typed.get("vcpus", "1")),
        Field("memory", "Memory (512M, 1G; a number: MiB)",
              typed.get("memory", "512M")),
        Field("new_volume", "New volume POOL:SIZE[:BACKING]",
              typed.get("new_volume", ""), placeholder=f"qcow2, NAME.qcow2: e.g. {pool}:8G"),
        Field("disk", "... or a disk: PATH or POOL/VOLUME",
              typed.get("disk", ""), placeholder="e.g. /var/lib/libvirt/images/a.qcow2"),
        Field("kernel", "Kernel (direct boot, optional)", typed.get("kernel", ""),
              placeholder="e.g. /boot/vmlinuz"),
        Field("initrd", "Initrd (with a kernel)", typed.get("initrd", "")),
        Field("cmdline", "Kernel command line",
              typed.get("cmdline", ""),
              placeholder="console=... is added when missing"),
        Field("network", "Network NAME, or bridge:BR",
              typed.get("network", ""), placeholder="e.g. default; empty: none"),
        Field("start", "Start it once defined", typed.get("start", NO), options=(NO, YES)),
    ]


def vm_note(options: HostOptions, pools: list[str], networks: list[str]) -> str:
    """What the host offers, said plainly: KVM or TCG per architecture."""
    lines = []
    for arch in options.archs:
        how = ("KVM (hardware virtualisation)" if arch.virt_type == "kvm" else
               "TCG: emulated by QEMU, slower" if arch.virt_type == "qemu" else
               f"{arch.virt_type} domains")
        machine = f", machine {arch.default_machine}" if arch.default_machine else ""
        lines.append(f"{arch.arch}: {how}{machine}")
    if options.kvm_problem:
        lines.append(f"KVM is not used: {options.kvm_problem}")
    lines.append(f"pools: {', '.join(pools) or 'none'} · networks: "
                 f"{', '.join(networks) or 'none'}")
    lines.append("The definition opens in the editor for review; ctrl+s defines it.")
    return "\n".join(lines)


def _size_mib(text: str, what: str) -> int | str:
    try:
        size = int(text) * 2**20 if text.strip().isdigit() else parse_size(text)
    except SizeError as exc:
        return f"{what}: {exc}"
    if size % 2**20:
        return f"{what} {text}: not a whole number of MiB"
    return size // 2**20


def _network(text: str) -> tuple[str, str] | None:
    """(kind, name): "bridge:BR" or a network's name; None for none."""
    if not text:
        return None
    kind, colon, name = text.partition(":")
    if colon and kind == "bridge":
        return "bridge", name
    if colon and kind == "network":
        return "network", name
    return "network", text


def parse_vm(host: str, values: dict[str, str]) -> tuple[VMSpec, Choice] | str:
    """The VM asked for, or why not (a message)."""
    try:
        vcpus = int(values["vcpus"] or "1")
    except ValueError:
        return f"vCPUs: a whole number, not {values['vcpus']!r}"
    memory = _size_mib(values["memory"] or "512M", "memory")
    if isinstance(memory, str):
        return memory
    disk: DiskPath | PoolVolume | NewVolume | None = None
    if values["new_volume"] and values["disk"]:
        return "a new volume or an existing disk, not both"
    if values["new_volume"]:
        parts = values["new_volume"].split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            return f"new volume {values['new_volume']!r}: expected POOL:SIZE[:BACKING]"
        try:
            size = parse_size(parts[1])
        except SizeError as exc:
            return f"new volume: {exc}"
        if size <= 0:
            return "new volume: the size must be more than 0 bytes"
        disk = NewVolume(parts[0], size, backing=parts[2] if len(parts) > 2 else None)
    elif values["disk"]:
        text = values["disk"]
        if text.startswith("/"):
            disk = DiskPath(text)
        else:
            pool, _slash, volume = text.partition("/")
            if not pool or not volume:
                return f"disk {text!r}: an absolute image path, or POOL/VOLUME"
            disk = PoolVolume(pool, volume)
    if (values["initrd"] or values["cmdline"]) and not values["kernel"]:
        return "an initrd or a command line goes with a kernel"
    kernel = (KernelBoot(values["kernel"], values["initrd"] or None, values["cmdline"])
              if values["kernel"] else None)
    if disk is None and kernel is None:
        return "something to boot is needed: a new volume, an existing disk or a kernel"
    net = _network(values["network"])
    if net is not None and not net[1]:
        return f"network {values['network']!r}: name the {net[0]}"
    spec = VMSpec(host=host, name=values["name"], arch=values["arch"] or None,
                  machine=values["machine"] or None, vcpus=vcpus, memory_mib=memory,
                  disk=disk, kernel=kernel, network=Nic(*net) if net else None)
    return spec, Choice(start=values["start"] == YES)


def vm_review(spec: VMSpec, notes: tuple[str, ...], start: bool) -> str:
    """The editor pane's note: what ctrl+s will do, before it does it."""
    lines = []
    disk = spec.disk
    if isinstance(disk, NewVolume):
        backing = f" over {disk.backing}" if disk.backing else ""
        lines.append(f"ctrl+s creates the new volume {disk.pool}/"
                     f"{disk.volume_name(spec.name)} ({disk.format}, "
                     f"{human_size(disk.size)}{backing}) first; it is removed again if "
                     "the define or the start fails")
    # First: the pane shows 8 lines of its note.
    lines.append(f"start after define: {YES if start else NO}")
    lines += list(notes)
    return "\n".join(lines)


# -- LXC ------------------------------------------------------------------------------------
def lxc_fields(values: dict[str, str] | None = None) -> list[Field]:
    typed = values or {}
    return [
        Field("name", "Name", typed.get("name", ""), placeholder="e.g. ct1"),
        Field("root", "Root directory on the host",
              typed.get("root", ""), placeholder="e.g. /srv/rootfs"),
        Field("init", "Init, inside the root", typed.get("init", DEFAULT_INIT)),
        Field("memory", "Memory limit (256M, 1G)", typed.get("memory", "256M")),
        Field("vcpus", "CPUs it may use (empty: all)", typed.get("vcpus", "")),
        Field("network", "Network NAME, or bridge:BR", typed.get("network", ""),
              placeholder="empty: loopback only"),
        Field("start", "Start it once defined", typed.get("start", NO), options=(NO, YES)),
    ]


def parse_lxc(host: str, values: dict[str, str]) -> tuple[LXCSpec, Choice] | str:
    try:
        memory = parse_size(values["memory"] or "256M")
    except SizeError as exc:
        return f"memory: {exc}"
    vcpus = None
    if values["vcpus"]:
        try:
            vcpus = int(values["vcpus"])
        except ValueError:
            return f"CPUs: a whole number, not {values['vcpus']!r}"
    net = _network(values["network"])
    network = (NetworkChoice() if net is None else
               NetworkChoice(NetKind.BRIDGE if net[0] == "bridge" else NetKind.NETWORK,
                             net[1]))
    spec = LXCSpec(host=host, name=values["name"], root=values["root"],
                   init=values["init"] or DEFAULT_INIT, memory=memory, vcpus=vcpus,
                   network=network)
    problems = spec.problems()
    if problems:
        return "; ".join(problems)
    return spec, Choice(start=values["start"] == YES)


def lxc_review(spec: LXCSpec, start: bool) -> str:
    return "\n".join([
        f"LXC container: root {spec.root} on {spec.host} (checked: it holds the init "
        f"{spec.init}), {human_size(spec.memory)}, {spec.network.describe()}",
        f"start after define: {YES if start else NO}",
        "ctrl+s defines it (libvirt validates)."])


# -- Docker ---------------------------------------------------------------------------------
def container_fields(values: dict[str, str] | None = None) -> list[Field]:
    typed = values or {}
    return [
        Field("name", "Name", typed.get("name", ""), placeholder="e.g. web"),
        Field("image", "Image",
              typed.get("image", ""), placeholder="e.g. alpine:3.20"),
        Field("cmd", "Command (empty: the image's)",
              typed.get("cmd", "")),
        Field("env", "Environment: KEY=VALUE ...",
              typed.get("env", "")),
        Field("ports", "Ports: [IP:]HOST:CONTAINER[/udp] ...", typed.get("ports", ""),
              placeholder="e.g. 8080:80"),
        Field("volumes", "Volumes: SRC:DST[:ro] ...", typed.get("volumes", "")),
        Field("restart", "Restart policy", typed.get("restart", "no"),
              placeholder="no, always, unless-stopped, on-failure[:N]"),
        Field("start", "Start it once created", typed.get("start", NO), options=(NO, YES)),
    ]


def parse_container(host: str, values: dict[str, str]) -> tuple[ct.ContainerSpec, Choice] | str:
    try:
        words = {key: shlex.split(values[key]) for key in ("env", "ports", "volumes")}
    except ValueError as exc:
        return f"cannot split the words: {exc}"
    try:
        spec = ct.ContainerSpec(
            host=host, name=values["name"], image=values["image"],
            command=ct.parse_command(values["cmd"]) if values["cmd"] else None,
            env=tuple(ct.parse_env(e) for e in words["env"]),
            ports=tuple(ct.parse_port(p) for p in words["ports"]),
            volumes=tuple(ct.parse_volume(v) for v in words["volumes"]),
            restart=ct.parse_restart(values["restart"] or "no"))
    except ct.SpecError as exc:
        return str(exc)
    problems = spec.problems()
    if problems:
        return "; ".join(problems)
    return spec, Choice(start=values["start"] == YES)
