"""What a host's libvirt can run: its capabilities and domain capabilities, parsed.

`virConnectGetCapabilities` lists every guest architecture with its emulator, domain
types (kvm, qemu) and machine types; `virConnectGetDomainCapabilities` (one per
architecture and domain type) adds the CPU modes and models and the vCPU limit. Both are
parsed here into frozen records, with the choices a new guest starts from: KVM when the
host offers it for that architecture, else TCG; the machine type to propose; the serial
device the guest kernel sees (the console `tuivirt console` talks to).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

from tuivirt.xmltools import parse

#: The machine type to propose per architecture, the first one the host offers. libvirt's
#: own default for arm is integratorcp (a board without virtio or PCI): 'virt' is the one
#: to run a Linux guest on.
PREFERRED_MACHINES: dict[str, tuple[str, ...]] = {
    "x86_64": ("pc", "q35"), "i686": ("pc", "q35"),
    "aarch64": ("virt",), "armv7l": ("virt",), "armv6l": ("virt",),
    "riscv64": ("virt",), "riscv32": ("virt",),
    "ppc64": ("pseries",), "ppc64le": ("pseries",), "s390x": ("s390-ccw-virtio",),
}
#: The CPU model a TCG guest of that architecture gets when the host has it (QEMU's own
#: default for 'virt' is cortex-a15 on aarch64 too, which cannot run a 64-bit kernel).
TCG_CPU_MODELS: dict[str, str] = {"aarch64": "cortex-a57", "armv7l": "cortex-a15",
                                  "armv6l": "arm1176"}


def serial_device(arch: str, machine: str = "") -> str:
    """The name the guest kernel gives the first serial port (for `console=`)."""
    if arch.startswith("arm") or arch == "aarch64":
        return "ttyAMA0"  # the PL011 of 'virt' (and of vexpress, versatile...)
    if arch.startswith("ppc"):
        return "hvc0" if machine.startswith("pseries") else "ttyS0"
    if arch == "s390x":
        return "ttysclp0"
    return "ttyS0"  # x86 (16550), riscv 'virt', mips malta...


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    canonical: str | None = None  # `pc` is an alias of `pc-i440fx-7.2`
    max_cpus: int | None = None
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class CpuChoice:
    """The <cpu> a new guest gets: a mode and, for `custom`, a model (None: no <cpu>)."""
    mode: str
    model: str | None = None

    def describe(self) -> str:
        return self.model if self.model else self.mode


@dataclass(frozen=True, slots=True)
class DomainCaps:
    """One `getDomainCapabilities` answer (an architecture under one domain type)."""
    arch: str
    domain_type: str
    machine: str | None
    emulator: str | None
    max_vcpus: int | None
    cpu_modes: tuple[str, ...]  # the supported ones
    cpu_models: tuple[str, ...]  # custom mode's models not marked unusable


@dataclass(frozen=True, slots=True)
class ArchOptions:
    """One architecture a host can run."""
    arch: str
    emulator: str
    domain_types: tuple[str, ...]  # "kvm", "qemu" ("kvm" first when offered)
    machines: tuple[Machine, ...]
    default_machine: str | None
    cpu_modes: tuple[str, ...] = ()
    cpu_models: tuple[str, ...] = ()
    max_vcpus: int | None = None

    @property
    def kvm(self) -> bool:
        return "kvm" in self.domain_types

    @property
    def virt_type(self) -> str:
        """The domain type a new guest gets: KVM when the host offers it, else TCG."""
        return "kvm" if self.kvm else (self.domain_types[0] if self.domain_types else "qemu")

    @property
    def acceleration(self) -> str:
        return "KVM" if self.virt_type == "kvm" else "TCG (emulated, no KVM)"

    def machine(self, name: str) -> Machine | None:
        """The machine of that name or alias (or canonical name), or None."""
        return next((m for m in self.machines if name in (m.name, m.canonical)), None)

    def machine_names(self) -> list[str]:
        """Every name a machine may be given: aliases and canonical names, sorted."""
        names = {m.name for m in self.machines} | {m.canonical for m in self.machines
                                                   if m.canonical}
        return sorted(names)

    @property
    def serial_device(self) -> str:
        return serial_device(self.arch, self.default_machine or "")

    def default_cpu(self, virt_type: str | None = None) -> CpuChoice | None:
        """KVM: the host's CPU model as libvirt names it; TCG: a model that runs the
        usual kernels (cortex-a57 on aarch64), else the emulator's most capable one,
        else its default.

        Not host-passthrough under KVM: in the lab's nested KVM a passed-through CPU
        stopped the guest within a second ("KVM internal error ... emulation failure"),
        host-model booted; it is also the one a guest can migrate with."""
        if (virt_type or self.virt_type) == "kvm":
            return CpuChoice("host-model") if "host-model" in self.cpu_modes else None
        model = TCG_CPU_MODELS.get(self.arch)
        if model and model in self.cpu_models:
            return CpuChoice("custom", model)
        if self.arch in TCG_CPU_MODELS and "maximum" in self.cpu_modes:
            return CpuChoice("maximum")
        return None

    def to_json(self) -> dict[str, object]:
        return {"arch": self.arch, "emulator": self.emulator,
                "domain_types": list(self.domain_types), "virt_type": self.virt_type,
                "kvm": self.kvm, "default_machine": self.default_machine,
                "machines": self.machine_names(), "cpu_modes": list(self.cpu_modes),
                "cpu_models": list(self.cpu_models), "max_vcpus": self.max_vcpus,
                "serial_device": self.serial_device}


@dataclass(frozen=True, slots=True)
class HostOptions:
    """Everything a host offers a new VM (for `tuivirt create options` and the dialog)."""
    host: str
    host_arch: str | None
    archs: tuple[ArchOptions, ...]
    host_memory_mib: int | None = None  # the NUMA cells' memory, summed
    #: why KVM is not used though libvirt lists it ("" when it is, or is not listed)
    kvm_problem: str = ""

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "host_arch": self.host_arch,
                "host_memory_mib": self.host_memory_mib, "kvm_problem": self.kvm_problem,
                "archs": [a.to_json() for a in self.archs]}

    def arch(self, name: str) -> ArchOptions | None:
        return next((a for a in self.archs if a.arch == name), None)

    def arch_names(self) -> list[str]:
        return [a.arch for a in self.archs]

    @property
    def default_arch(self) -> str | None:
        if self.host_arch and self.arch(self.host_arch):
            return self.host_arch
        return self.archs[0].arch if self.archs else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _machines(elements: list[etree._Element]) -> list[Machine]:
    out = []
    for element in elements:
        name = (element.text or "").strip()
        if name:
            out.append(Machine(name=name, canonical=element.get("canonical"),
                               max_cpus=_int(element.get("maxCpus")),
                               deprecated=element.get("deprecated") == "yes"))
    return out


def parse_capabilities(xml: str) -> HostOptions:
    """The host's architecture and memory, and every hvm guest architecture it offers
    (no CPU facts: those come from the domain capabilities, see `with_domain_caps`).
    The `host` field is left empty for the caller to fill."""
    root = parse(xml)
    host_arch = (root.findtext("host/cpu/arch") or "").strip() or None
    memory_kib = 0
    for cell in root.iterfind("host/topology/cells/cell/memory"):
        unit = cell.get("unit", "KiB")
        value = _int((cell.text or "").strip()) or 0
        memory_kib += value * {"KiB": 1, "MiB": 1024, "GiB": 1 << 20}.get(unit, 1)
    archs: dict[str, ArchOptions] = {}
    for guest in root.iterfind("guest"):
        if (guest.findtext("os_type") or "").strip() != "hvm":
            continue
        arch = guest.find("arch")
        if arch is None or not arch.get("name"):
            continue
        name = str(arch.get("name"))
        emulator = (arch.findtext("emulator") or "").strip()
        machines = _machines(arch.findall("machine"))
        types: list[str] = []
        for domain in arch.iterfind("domain"):
            kind = domain.get("type")
            if kind and kind not in types:
                types.append(kind)
            # A domain type may have its own emulator and machines (old kvm binaries).
            known = {m.name for m in machines}
            machines += [m for m in _machines(domain.findall("machine"))
                         if m.name not in known]
            emulator = emulator or (domain.findtext("emulator") or "").strip()
        types.sort(key=lambda t: (t != "kvm", t))
        if name in archs:  # listed twice (another os_type): merge
            continue
        archs[name] = ArchOptions(arch=name, emulator=emulator, domain_types=tuple(types),
                                  machines=tuple(machines),
                                  default_machine=_default_machine(name, machines))
    kvm_problem = ""
    flags = {f.get("name") for f in root.iterfind("host/cpu/feature")}
    if host_arch in ("x86_64", "i686") and not flags & {"vmx", "svm"} and any(
            a.kvm for a in archs.values()):
        # /dev/kvm opens, and libvirt lists kvm, in a VM without nested virtualisation
        # too; there the lab's guests stopped within a second ("KVM internal error").
        kvm_problem = ("libvirt lists KVM but the host CPU has no vmx/svm flag (no "
                       "nested virtualisation?)")
        archs = {name: replace(a, domain_types=tuple(t for t in a.domain_types if t != "kvm"))
                 for name, a in archs.items()}
    return HostOptions(host="", host_arch=host_arch,
                       archs=tuple(sorted(archs.values(), key=lambda a: a.arch)),
                       host_memory_mib=memory_kib // 1024 or None, kvm_problem=kvm_problem)


def _default_machine(arch: str, machines: list[Machine], fallback: str | None = None
                     ) -> str | None:
    names = {m.name for m in machines}
    for preferred in PREFERRED_MACHINES.get(arch, ()):
        if preferred in names:
            return preferred
    if fallback:
        found = next((m for m in machines if fallback in (m.name, m.canonical)), None)
        if found is not None:
            return found.name
    return machines[0].name if machines else None


def parse_domain_capabilities(xml: str) -> DomainCaps:
    root = parse(xml)
    modes = tuple(str(m.get("name")) for m in root.iterfind("cpu/mode")
                  if m.get("supported") == "yes" and m.get("name"))
    models = tuple((m.text or "").strip() for m in root.iterfind("cpu/mode[@name='custom']/model")
                   if m.get("usable") != "no" and (m.text or "").strip())
    vcpu = root.find("vcpu")
    return DomainCaps(arch=(root.findtext("arch") or "").strip(),
                      domain_type=(root.findtext("domain") or "").strip(),
                      machine=(root.findtext("machine") or "").strip() or None,
                      emulator=(root.findtext("path") or "").strip() or None,
                      max_vcpus=_int(vcpu.get("max")) if vcpu is not None else None,
                      cpu_modes=modes, cpu_models=models)


def with_domain_caps(options: ArchOptions, domain: DomainCaps | None,
                     kvm_usable: bool = True) -> ArchOptions:
    """The architecture completed by its domain capabilities. `kvm_usable` False (the
    daemon lists kvm but refuses it: no /dev/kvm for it) drops kvm from its types."""
    types = options.domain_types if kvm_usable else tuple(
        t for t in options.domain_types if t != "kvm")
    if domain is None:
        return replace(options, domain_types=types)
    return replace(options, domain_types=types, cpu_modes=domain.cpu_modes,
                   cpu_models=domain.cpu_models, max_vcpus=domain.max_vcpus)


def host_options(host: str, caps_xml: str,
                 domain_caps: dict[str, tuple[str | None, bool]]) -> HostOptions:
    """A host's options from its capabilities and, per architecture, its domain
    capabilities (None: the daemon gave none) and whether KVM answered for it."""
    parsed = parse_capabilities(caps_xml)
    archs = []
    for arch in parsed.archs:
        xml, kvm_usable = domain_caps.get(arch.arch, (None, True))
        archs.append(with_domain_caps(arch, parse_domain_capabilities(xml) if xml else None,
                                      kvm_usable))
    return replace(parsed, host=host, archs=tuple(archs))
