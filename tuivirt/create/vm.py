"""A new VM: what the user chose (VMSpec), checked against what the host offers, and the
domain definition made from it (lxml, never string formatting).

The definition boots at once with a console: a pty serial port wired as the console
(`tuivirt console` and the `c` key talk to it), and for a direct kernel boot
`console=<the arch's serial device>` on the command line. The domain type is KVM when
the host offers it for that architecture, else QEMU's TCG; `notes` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from tuivirt.create.caps import ArchOptions, CpuChoice, HostOptions, Machine
from tuivirt.errors import GuestError

MIN_MEMORY_MIB = 16
#: x86 firmware and arm's 'virt' both want a device model a little over this; a guest
#: with less than 16 MiB boots no Linux kernel anyway.
DISK_FORMATS = ("qcow2", "raw", "qed", "vmdk", "vdi", "vpc", "vhdx")


class InvalidSpec(GuestError):
    """A VM that cannot be made as asked; nothing was changed. The user's to fix."""


@dataclass(frozen=True, slots=True)
class DiskPath:
    """An existing image file (or block device) on the host."""
    path: str
    format: str | None = None  # None: from the file name (.qcow2 -> qcow2), else raw


@dataclass(frozen=True, slots=True)
class PoolVolume:
    """An existing volume of a pool (its format looked up by the session)."""
    pool: str
    volume: str
    format: str | None = None


@dataclass(frozen=True, slots=True)
class NewVolume:
    """A volume made for the VM (removed again when a later step fails)."""
    pool: str
    size: int  # bytes
    format: str = "qcow2"
    backing: str | None = None  # a base image the new volume sits over
    name: str | None = None  # None: <vm name>.<format>

    def volume_name(self, vm: str) -> str:
        return self.name or f"{vm}.{self.format}"


@dataclass(frozen=True, slots=True)
class KernelBoot:
    """Direct kernel boot: QEMU loads them (no firmware, no boot loader on a disk)."""
    kernel: str
    initrd: str | None = None
    cmdline: str = ""


@dataclass(frozen=True, slots=True)
class Nic:
    kind: str  # "network" (a libvirt network) or "bridge" (a host bridge)
    source: str


Disk = DiskPath | PoolVolume | NewVolume


@dataclass(frozen=True, slots=True)
class VMSpec:
    host: str
    name: str
    arch: str | None = None  # None: the host's own
    machine: str | None = None  # None: the one proposed for the arch
    vcpus: int = 1
    memory_mib: int = 512
    disk: Disk | None = None
    kernel: KernelBoot | None = None
    network: Nic | None = None
    virt_type: str | None = None  # None: kvm when offered, else qemu


@dataclass(frozen=True, slots=True)
class Plan:
    """The spec with every choice made: what the definition says, and why (notes)."""
    spec: VMSpec
    arch: ArchOptions
    machine: str
    virt_type: str
    cpu: CpuChoice | None
    console: str  # the guest kernel's name for the serial console
    cmdline: str | None
    disk_format: str | None
    notes: tuple[str, ...] = field(default=())


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a new domain, or None (the rules clone uses, plus blanks
    at either end, which no one can type back)."""
    from tuivirt.clone import _has_control

    if not name.strip():
        return "the VM needs a name"
    if name != name.strip():
        return f"a VM name cannot start or end with a blank: {name!r}"
    if "/" in name:
        return f"a VM name cannot contain '/': {name!r}"
    if _has_control(name):
        return f"a VM name cannot contain control characters: {name!r}"
    if len(name.encode()) > 200:
        return "a VM name is at most 200 bytes (its files and logs are named after it)"
    return None


def disk_format(disk: Disk | None) -> str | None:
    if disk is None:
        return None
    if isinstance(disk, NewVolume):
        return disk.format
    if disk.format:
        return disk.format
    if isinstance(disk, DiskPath):
        suffix = disk.path.rsplit(".", 1)[-1].lower() if "." in disk.path else ""
        return suffix if suffix in DISK_FORMATS else "raw"
    return None


def plan(spec: VMSpec, options: HostOptions) -> Plan:
    """Every choice made, or InvalidSpec saying what cannot be (first problem found)."""
    def refuse(problem: str) -> InvalidSpec:
        return InvalidSpec(spec.host, spec.name or None, problem)

    problem = name_problem(spec.name)
    if problem:
        raise refuse(problem)
    arch_name = spec.arch or options.default_arch
    if arch_name is None:
        raise refuse(f"host {spec.host} offers no architecture for VMs (no QEMU emulator "
                     "known to its libvirt)")
    arch = options.arch(arch_name)
    if arch is None:
        raise refuse(f"host {spec.host} cannot run {arch_name} guests (its libvirt offers: "
                     f"{', '.join(options.arch_names()) or 'none'})")
    notes: list[str] = []
    machine_name = spec.machine or arch.default_machine
    if machine_name is None and not arch.machines:
        # A driver that names no machine types (libvirt's test driver: the demo host)
        # takes a definition without one.
        machine_name = ""
    machine = arch.machine(machine_name) if machine_name else Machine("")
    if machine is None:
        raise refuse(f"machine type {machine_name!r} is not offered for {arch.arch} on "
                     f"{spec.host} (`tuivirt create options {spec.host}` lists them; "
                     f"proposed: {arch.default_machine})")
    if machine.deprecated:
        notes.append(f"machine {machine.name} is deprecated by QEMU")
    virt_type = spec.virt_type or arch.virt_type
    if virt_type not in arch.domain_types:
        raise refuse(f"{arch.arch} guests on {spec.host} run as "
                     f"{' or '.join(arch.domain_types)}, not {virt_type}")
    if virt_type == "kvm":
        notes.append(f"{arch.arch} under KVM (hardware virtualisation)")
    elif virt_type != "qemu":
        notes.append(f"{arch.arch} as a {virt_type} domain")
    else:
        why = ("KVM not asked for" if arch.kvm else
               f"no KVM: {options.kvm_problem}" if options.kvm_problem else
               f"{spec.host} has no KVM for {arch.arch}")
        notes.append(f"{arch.arch} under TCG: emulated by QEMU, {why}; expect it slower")
    limit = min(x for x in (arch.max_vcpus, machine.max_cpus, 4096) if x)
    if not 1 <= spec.vcpus <= limit:
        raise refuse(f"{spec.vcpus} vCPUs: {machine.name or arch.arch} "
                     f"{'on ' + arch.arch + ' ' if machine.name else ''}takes 1 to {limit}")
    if spec.memory_mib < MIN_MEMORY_MIB:
        raise refuse(f"{spec.memory_mib} MiB of memory: at least {MIN_MEMORY_MIB} MiB")
    if options.host_memory_mib and spec.memory_mib > options.host_memory_mib:
        raise refuse(f"{spec.memory_mib} MiB of memory: host {spec.host} has "
                     f"{options.host_memory_mib} MiB")
    if spec.disk is None and spec.kernel is None:
        raise refuse("a VM needs something to boot: a disk (an image, a volume, a new "
                     "volume) or a kernel")
    fmt = disk_format(spec.disk)
    if fmt is not None and fmt not in DISK_FORMATS:
        raise refuse(f"unknown disk format {fmt!r} (one of: {', '.join(DISK_FORMATS)})")
    cpu = arch.default_cpu(virt_type)
    if cpu is not None:
        notes.append(f"CPU: {cpu.describe()}")
    console = arch.serial_device if machine_name == arch.default_machine else (
        _serial_for(arch, machine.name))
    cmdline = None
    if spec.kernel is not None:
        cmdline = spec.kernel.cmdline.strip()
        if f"console={console}" not in cmdline.split():
            cmdline = f"{cmdline} console={console}".strip()
            notes.append(f"console={console} added to the kernel command line")
    notes.append(f"serial console: {console} in the guest (`tuivirt console "
                 f"{spec.host}/{spec.name}`)")
    if spec.network is None:
        notes.append("no network")
    return Plan(spec=spec, arch=arch, machine=machine.name, virt_type=virt_type, cpu=cpu,
                console=console, cmdline=cmdline, disk_format=fmt, notes=tuple(notes))


def _serial_for(arch: ArchOptions, machine: str) -> str:
    from tuivirt.create.caps import serial_device

    return serial_device(arch.arch, machine)


def domain_xml(spec: VMSpec, options: HostOptions, *, uuid: str | None = None) -> str:
    """The new VM's definition (InvalidSpec when it cannot be made as asked)."""
    return definition(plan(spec, options), uuid=uuid)


def definition(chosen: Plan, *, uuid: str | None = None) -> str:
    spec = chosen.spec
    root = etree.Element("domain", type=chosen.virt_type)
    etree.SubElement(root, "name").text = spec.name
    if uuid:
        etree.SubElement(root, "uuid").text = uuid
    etree.SubElement(root, "memory", unit="MiB").text = str(spec.memory_mib)
    etree.SubElement(root, "vcpu").text = str(spec.vcpus)
    os_ = etree.SubElement(root, "os")
    os_type = etree.SubElement(os_, "type", arch=chosen.arch.arch)
    if chosen.machine:
        os_type.set("machine", chosen.machine)
    os_type.text = "hvm"
    if spec.kernel is not None:
        etree.SubElement(os_, "kernel").text = spec.kernel.kernel
        if spec.kernel.initrd:
            etree.SubElement(os_, "initrd").text = spec.kernel.initrd
        etree.SubElement(os_, "cmdline").text = chosen.cmdline or ""
    else:
        etree.SubElement(os_, "boot", dev="hd")
    if chosen.arch.arch in ("x86_64", "i686"):
        features = etree.SubElement(root, "features")
        etree.SubElement(features, "acpi")
        etree.SubElement(features, "apic")
    if chosen.cpu is not None:
        cpu = etree.SubElement(root, "cpu", mode=chosen.cpu.mode)
        if chosen.cpu.model:
            cpu.set("match", "exact")
            etree.SubElement(cpu, "model", fallback="forbid").text = chosen.cpu.model
    etree.SubElement(root, "on_poweroff").text = "destroy"
    etree.SubElement(root, "on_reboot").text = "restart"
    etree.SubElement(root, "on_crash").text = "destroy"
    devices = etree.SubElement(root, "devices")
    if chosen.arch.emulator:
        etree.SubElement(devices, "emulator").text = chosen.arch.emulator
    if spec.disk is not None:
        _disk(devices, spec, chosen.disk_format)
    if spec.network is not None:
        nic = etree.SubElement(devices, "interface", type=spec.network.kind)
        etree.SubElement(nic, "source", {spec.network.kind: spec.network.source})
        etree.SubElement(nic, "model", type="virtio")
    serial = etree.SubElement(devices, "serial", type="pty")
    etree.SubElement(serial, "target", port="0")
    console = etree.SubElement(devices, "console", type="pty")
    etree.SubElement(console, "target", type="serial", port="0")
    return str(etree.tostring(root, encoding="unicode", pretty_print=True))


def _disk(devices: etree._Element, spec: VMSpec, fmt: str | None) -> None:
    disk = spec.disk
    if isinstance(disk, DiskPath):
        element = etree.SubElement(devices, "disk", type="file", device="disk")
        etree.SubElement(element, "driver", name="qemu", type=fmt or "raw")
        etree.SubElement(element, "source", file=disk.path)
    else:
        assert disk is not None
        volume = disk.volume if isinstance(disk, PoolVolume) else disk.volume_name(spec.name)
        element = etree.SubElement(devices, "disk", type="volume", device="disk")
        etree.SubElement(element, "driver", name="qemu", type=fmt or "raw")
        etree.SubElement(element, "source", pool=disk.pool, volume=volume)
    etree.SubElement(element, "target", dev="vda", bus="virtio")
