"""The new-guest forms (`n`): what was typed turned into a spec, or the message the form
comes back with."""

from __future__ import annotations

from tuivirt.create.container import PortMap, Restart
from tuivirt.create.lxc import NetKind
from tuivirt.create.vm import DiskPath, KernelBoot, NewVolume, Nic, PoolVolume
from tuivirt.ui.create import forms

VM = {"name": "web1", "arch": "x86_64", "machine": "", "vcpus": "2", "memory": "1G",
      "new_volume": "", "disk": "", "kernel": "", "initrd": "", "cmdline": "",
      "network": "", "start": "no"}


def vm(**typed: str) -> object:
    return forms.parse_vm("h", {**VM, **typed})


def test_a_vm_form_becomes_the_spec_the_cli_would_make() -> None:
    parsed = vm(new_volume="tvlab:8G:/img/base.qcow2", network="bridge:br0", start="yes")
    assert isinstance(parsed, tuple)
    spec, choice = parsed
    assert (spec.name, spec.arch, spec.machine, spec.vcpus, spec.memory_mib) == (
        "web1", "x86_64", None, 2, 1024)
    assert spec.disk == NewVolume("tvlab", 8 * 2**30, backing="/img/base.qcow2")
    assert spec.network == Nic("bridge", "br0") and choice.start
    spec = vm(disk="default/a.qcow2", network="default")[0]  # type: ignore[index]
    assert spec.disk == PoolVolume("default", "a.qcow2")
    assert spec.network == Nic("network", "default")
    spec = vm(disk="/img/a.raw", kernel="/k", initrd="/i", cmdline="quiet")[0]  # type: ignore[index]
    assert spec.disk == DiskPath("/img/a.raw")
    assert spec.kernel == KernelBoot("/k", "/i", "quiet")


def test_bad_vm_input_is_a_message() -> None:
    assert vm() == ("something to boot is needed: a new volume, an existing disk or a "
                    "kernel")
    assert vm(kernel="/k", vcpus="two") == "vCPUs: a whole number, not 'two'"
    assert str(vm(kernel="/k", memory="lots")).startswith("memory: ")
    assert vm(new_volume="tvlab") == "new volume 'tvlab': expected POOL:SIZE[:BACKING]"
    assert vm(new_volume="p:1G", disk="/a") == "a new volume or an existing disk, not both"
    assert vm(disk="a.qcow2") == "disk 'a.qcow2': an absolute image path, or POOL/VOLUME"
    assert vm(initrd="/i") == "an initrd or a command line goes with a kernel"
    assert vm(kernel="/k", network="bridge:") == "network 'bridge:': name the bridge"


def test_lxc_and_container_forms() -> None:
    parsed = forms.parse_lxc("h", {"name": "ct", "root": "/srv/root", "init": "",
                                   "memory": "64M", "vcpus": "", "network": "default",
                                   "start": "yes"})
    assert isinstance(parsed, tuple)
    spec, choice = parsed
    assert (spec.init, spec.memory, spec.vcpus, spec.network.kind, choice.start) == (
        "/sbin/init", 64 * 2**20, None, NetKind.NETWORK, True)
    assert forms.parse_lxc("h", {"name": "ct", "root": "srv", "init": "/sbin/init",
                                 "memory": "64M", "vcpus": "", "network": "",
                                 "start": "no"}) == (
        "the root directory must be an absolute path on the host: 'srv'")
    typed = {"name": "web", "image": "alpine", "cmd": "sh -c 'sleep 1d'",
             "env": "A=1 'B=two words'", "ports": "8080:80 5353:53/udp", "volumes": "",
             "restart": "on-failure:3", "start": "no"}
    parsed_ct = forms.parse_container("h", typed)
    assert isinstance(parsed_ct, tuple)
    ct = parsed_ct[0]
    assert ct.command == ("sh", "-c", "sleep 1d")
    assert ct.env == (("A", "1"), ("B", "two words"))
    assert ct.ports == (PortMap(8080, 80), PortMap(5353, 53, "udp"))
    assert ct.restart.name is Restart.ON_FAILURE and ct.restart.max_retries == 3
    assert str(forms.parse_container("h", {**typed, "ports": "80"})).startswith(
        "--port '80': ")
