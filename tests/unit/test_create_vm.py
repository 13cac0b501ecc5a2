"""What a host offers a new VM (parsed from the lab's real capabilities XML, captured
under tests/unit/data/caps/), the definition made from a VMSpec, and the refusals."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from lxml import etree

from tuivirt.create.caps import HostOptions, host_options, parse_capabilities
from tuivirt.create.vm import (
    DiskPath,
    InvalidSpec,
    KernelBoot,
    NewVolume,
    Nic,
    PoolVolume,
    VMSpec,
    domain_xml,
    plan,
)

DATA = Path(__file__).parent / "data" / "caps"
CAPS = (DATA / "capabilities.xml").read_text()
#: The lab's x86 CPU shows no vmx (KVM opens but stops guests): a real KVM host has it.
KVM_CAPS = CAPS.replace("<feature name='vme'/>", "<feature name='vme'/><feature name='vmx'/>")


def domcaps(name: str) -> str:
    return (DATA / f"domcaps-{name}.xml").read_text()


def options(caps: str = CAPS) -> HostOptions:
    return host_options("lab", caps, {
        "x86_64": (domcaps("x86_64-kvm"), True), "i686": (None, True),
        "aarch64": (domcaps("aarch64-qemu"), True), "armv7l": (domcaps("armv7l-qemu"), True),
    })


def tiny(**changes: object) -> VMSpec:
    fields: dict[str, object] = {"host": "lab", "name": "web", "memory_mib": 128,
                                 "kernel": KernelBoot("/img/vmlinuz", "/img/initrd.gz",
                                                      "quiet")}
    fields.update(changes)
    return VMSpec(**fields)  # type: ignore[arg-type]


def xml_of(spec: VMSpec, caps: HostOptions | None = None) -> etree._Element:
    return etree.fromstring(domain_xml(spec, caps or options()).encode())


def test_the_labs_capabilities_list_every_architecture_with_its_emulator_and_machine() -> None:
    parsed = parse_capabilities(CAPS)
    assert parsed.host_arch == "x86_64"
    assert parsed.arch_names() == ["aarch64", "armv6l", "armv7l", "i686", "x86_64"]
    assert parsed.host_memory_mib == 9135864 // 1024
    x86 = parsed.arch("x86_64")
    assert x86 is not None
    assert x86.emulator == "/usr/bin/qemu-system-x86_64"
    assert x86.default_machine == "pc"
    pc = x86.machine("pc")
    assert pc is not None and pc.canonical == "pc-i440fx-7.2" and pc.max_cpus == 255
    assert x86.machine("pc-i440fx-7.2") is not None  # the canonical name works too
    assert "q35" in x86.machine_names()
    aarch64 = parsed.arch("aarch64")
    assert aarch64 is not None
    assert aarch64.emulator == "/usr/bin/qemu-system-aarch64"
    # libvirt's own default for arm is integratorcp: 'virt' is proposed instead.
    assert aarch64.default_machine == "virt"
    assert aarch64.domain_types == ("qemu",) and aarch64.virt_type == "qemu"
    assert aarch64.serial_device == "ttyAMA0" and x86.serial_device == "ttyS0"


def test_kvm_listed_without_vmx_or_svm_is_not_used_and_says_why() -> None:
    lab = options()
    x86 = lab.arch("x86_64")
    assert x86 is not None and x86.virt_type == "qemu" and not x86.kvm
    assert "no vmx/svm" in lab.kvm_problem
    notes = plan(tiny(), lab).notes
    assert any("x86_64 under TCG" in n and "no vmx/svm" in n for n in notes), notes
    kvm = options(KVM_CAPS)
    x86 = kvm.arch("x86_64")
    assert x86 is not None and x86.virt_type == "kvm" and kvm.kvm_problem == ""
    root = xml_of(tiny(), kvm)
    assert root.get("type") == "kvm"
    assert root.find("cpu").get("mode") == "host-model"  # type: ignore[union-attr]
    # A host that refuses KVM's domain capabilities (no /dev/kvm for libvirtd): TCG.
    refused = host_options("lab", KVM_CAPS, {"x86_64": (domcaps("x86_64-qemu"), False)})
    assert refused.arch("x86_64").virt_type == "qemu"  # type: ignore[union-attr]


def test_domain_capabilities_give_the_cpu_a_tcg_arm_guest_gets() -> None:
    lab = options()
    aarch64, armv7l = lab.arch("aarch64"), lab.arch("armv7l")
    assert aarch64 is not None and armv7l is not None
    assert "cortex-a57" in aarch64.cpu_models and "maximum" in aarch64.cpu_modes
    assert aarch64.max_vcpus == 512
    cpu = aarch64.default_cpu()
    assert cpu is not None and (cpu.mode, cpu.model) == ("custom", "cortex-a57")
    cpu = armv7l.default_cpu()
    assert cpu is not None and cpu.model == "cortex-a15"


def test_an_x86_kernel_boot_gets_its_serial_console_wired_and_named() -> None:
    root = xml_of(tiny(disk=NewVolume("tvlab", 64 << 20)))
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "web"
    assert root.find("memory").text == "128"  # type: ignore[union-attr]
    os_type = root.find("os/type")
    assert os_type is not None
    assert (os_type.get("arch"), os_type.get("machine")) == ("x86_64", "pc")
    assert root.findtext("os/cmdline") == "quiet console=ttyS0"
    assert root.findtext("os/initrd") == "/img/initrd.gz"
    assert root.find("devices/serial[@type='pty']/target") is not None
    assert root.find("devices/console[@type='pty']/target").get("type") == "serial"  # type: ignore[union-attr]
    disk = root.find("devices/disk")
    assert disk is not None and disk.get("type") == "volume"
    assert disk.find("source").attrib == {"pool": "tvlab", "volume": "web.qcow2"}  # type: ignore[union-attr]
    assert disk.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert root.find("features/acpi") is not None


def test_a_console_already_on_the_cmdline_is_not_added_twice() -> None:
    chosen = plan(tiny(kernel=KernelBoot("/k", None, "console=ttyS0,115200n8 console=ttyS0")),
                  options())
    assert chosen.cmdline == "console=ttyS0,115200n8 console=ttyS0"
    assert not any("added" in n for n in chosen.notes)


def test_an_aarch64_guest_runs_on_virt_with_a_cortex_a57_and_ttyama0() -> None:
    root = xml_of(tiny(arch="aarch64"))
    assert root.get("type") == "qemu"
    assert root.find("os/type").get("machine") == "virt"  # type: ignore[union-attr]
    assert root.findtext("cpu/model") == "cortex-a57"
    assert root.findtext("os/cmdline") == "quiet console=ttyAMA0"
    assert root.findtext("devices/emulator") == "/usr/bin/qemu-system-aarch64"
    assert root.find("features") is None  # ACPI on arm needs UEFI: none here
    notes = plan(tiny(arch="aarch64"), options()).notes
    assert any(n.startswith("aarch64 under TCG") for n in notes)


def test_disks_and_networks() -> None:
    root = xml_of(tiny(disk=DiskPath("/img/base.qcow2"), network=Nic("network", "default")))
    disk = root.find("devices/disk")
    assert disk is not None and disk.get("type") == "file"
    assert disk.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert disk.find("source").get("file") == "/img/base.qcow2"  # type: ignore[union-attr]
    nic = root.find("devices/interface")
    assert nic is not None and nic.get("type") == "network"
    assert nic.find("source").get("network") == "default"  # type: ignore[union-attr]
    root = xml_of(tiny(kernel=None, disk=PoolVolume("tvlab", "vm.img", "raw"),
                       network=Nic("bridge", "br0")))
    assert root.find("os/boot").get("dev") == "hd"  # type: ignore[union-attr]
    assert root.find("os/kernel") is None
    assert root.find("devices/interface/source").get("bridge") == "br0"  # type: ignore[union-attr]
    assert root.find("devices/disk/driver").get("type") == "raw"  # type: ignore[union-attr]


@pytest.mark.parametrize(("changes", "message"), [
    ({"arch": "s390x"}, "host lab cannot run s390x guests (its libvirt offers: aarch64, "
                        "armv6l, armv7l, i686, x86_64)"),
    ({"machine": "vexpress-a9"}, "machine type 'vexpress-a9' is not offered for x86_64"),
    ({"arch": "aarch64", "machine": "pc"}, "'pc' is not offered for aarch64"),
    ({"vcpus": 0}, "0 vCPUs: pc on x86_64 takes 1 to 255"),
    ({"arch": "aarch64", "vcpus": 600}, "600 vCPUs: virt on aarch64 takes 1 to 512"),
    ({"machine": "isapc", "vcpus": 2}, "takes 1 to 1"),
    ({"memory_mib": 8}, "8 MiB of memory: at least 16 MiB"),
    ({"memory_mib": 1 << 20}, "host lab has 8921 MiB"),
    ({"name": "a/b"}, "cannot contain '/'"),
    ({"name": "evil\x1b]52;c;x\x07"}, "control characters"),
    ({"name": " web"}, "cannot start or end with a blank"),
    ({"name": ""}, "the VM needs a name"),
    ({"kernel": None}, "a VM needs something to boot"),
    ({"disk": DiskPath("/x", "qcow3")}, "unknown disk format 'qcow3'"),
    ({"virt_type": "kvm"}, "x86_64 guests on lab run as qemu, not kvm"),
])
def test_what_cannot_be_made_is_refused_with_a_clear_message(
        changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        domain_xml(tiny(**changes), options())
    assert message in caught.value.message


def test_the_cli_flags_make_the_spec() -> None:
    from tuivirt.cli import build_parser
    from tuivirt.cli.common import UsageError
    from tuivirt.cli.create import vm_spec

    def spec(*argv: str) -> VMSpec:
        args: argparse.Namespace = build_parser().parse_args(["create", "vm", "h", "n",
                                                              *argv])
        result: VMSpec = vm_spec(args)
        return result

    made = spec("--memory", "1G", "--new-volume", "tvlab:2G:/img/base.qcow2", "--kernel",
                "/k", "--bridge", "br0", "--vcpus", "2")
    assert made.memory_mib == 1024 and made.vcpus == 2
    assert made.disk == NewVolume("tvlab", 2 << 30, backing="/img/base.qcow2")
    assert made.network == Nic("bridge", "br0")
    assert spec("--memory", "300", "--volume", "p/v").memory_mib == 300  # bare: MiB
    assert spec("--volume", "p/v").disk == PoolVolume("p", "v")
    for argv, problem in [((), "something to boot is needed"),
                          (("--volume", "p"), "expected POOL/VOL"),
                          (("--new-volume", "tvlab"), "expected POOL:SIZE"),
                          (("--disk", "/d", "--initrd", "/i"), "go with --kernel"),
                          (("--disk", "/d", "--memory", "1.5K"), "not a whole number of MiB")]:
        with pytest.raises(UsageError, match=problem):
            spec(*argv)
