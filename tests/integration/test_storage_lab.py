"""Storage pools and volumes on the CLI, end to end against the lab's daemons (both hosts).

Every outcome is checked with virsh, not with tuivirt. Volumes are named
tvtest-vol-<hex> and removed afterwards; tests/lab/up removes leftovers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli
from tests.ptyrun import PtyRun

pytestmark = pytest.mark.lab

HOSTS = ["local", "hostb"]
POOL = "tvlab"


def vol_names(lab: Lab, host: str) -> list[str]:
    return [line.split()[0] for line in lab.virsh(host, "vol-list", POOL).splitlines()
            if line.strip()]


def vol_xml(lab: Lab, host: str, name: str) -> str:
    return lab.virsh(host, "vol-dumpxml", "--pool", POOL, name)


def capacity(lab: Lab, host: str, name: str) -> int:
    found = re.search(r"<capacity unit='bytes'>(\d+)<", vol_xml(lab, host, name))
    assert found, name
    return int(found[1])


def pool_dir(lab: Lab, host: str) -> Path:
    return lab.dir / "pools" / host


@pytest.fixture()
def volume_name(lab: Lab) -> Iterator[Callable[..., str]]:
    """Fresh tvtest-vol-<hex><suffix> names; whatever got created under them is deleted."""
    made: list[tuple[str, str]] = []

    def make(host: str, suffix: str = "") -> str:
        name = f"tvtest-vol-{uuid.uuid4().hex[:8]}{suffix}"
        made.append((host, name))
        return name

    yield make
    for host, name in reversed(made):  # overlays before their backing files
        lab.virsh(host, "vol-delete", "--pool", POOL, name, check=False)
    for host in {h for h, _n in made}:
        lab.virsh(host, "pool-refresh", POOL, check=False)


def define_domain(lab: Lab, host: str, xml: str) -> None:
    # hostb has its own mount namespace: feed the file through it (as scratch_vm does).
    name = re.search(r"<name>([^<]+)</name>", xml)
    assert name
    prefix = lab.hostb_prefix() if host == "hostb" else []
    subprocess.run([*prefix, "sh", "-c", f"cat > /tmp/{name[1]}.xml && virsh -q define "
                    f"/tmp/{name[1]}.xml && rm /tmp/{name[1]}.xml"], input=xml, text=True,
                   check=True, capture_output=True, timeout=60)


@pytest.fixture()
def guest_with_disk(lab: Lab) -> Iterator[Callable[[str, str], str]]:
    """Defines (does not start) a QEMU guest whose one disk is `disk_xml`; undefined after."""
    made: list[tuple[str, str]] = []

    def make(host: str, disk_xml: str) -> str:
        name = f"tvtest-{uuid.uuid4().hex[:8]}"
        define_domain(lab, host, f"""<domain type='qemu'><name>{name}</name>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>{disk_xml}</devices></domain>""")
        made.append((host, name))
        return name

    yield make
    for host, name in made:
        lab.virsh(host, "undefine", name, check=False)


def test_pools_lists_both_hosts_with_sizes(lab: Lab, lab_config: Path) -> None:
    proc = run_cli("pools", "--json", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    pools = {(p["host"], p["name"]): p for p in json.loads(proc.stdout)}
    for host in HOSTS:
        pool = pools[(host, POOL)]
        assert (pool["type"], pool["state"], pool["autostart"]) == ("dir", "active", True)
        assert pool["path"] == str(pool_dir(lab, host))
        info = lab.virsh(host, "pool-dumpxml", POOL)
        assert f"<capacity unit='bytes'>{pool['capacity']}<" in info
        assert pool["available"] > 0 and pool["allocation"] > 0
    proc = run_cli("pools", "hostb", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["HOST", "NAME", "TYPE", "STATE", "AUTOSTART", "CAPACITY",
                                "ALLOCATION", "AVAILABLE"]
    assert lines[1].split()[:5] == ["hostb", POOL, "dir", "active", "yes"]
    assert "GiB" in lines[1] and len(lines) == 2


def test_pools_with_an_endpoint_down_lists_the_rest(lab: Lab, tmp_path: Path,
                                                   state_home: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(lab.config_text(extra="""
[[host]]
name = "ghost"
libvirt = ["qemu+unix:///system?socket=/nonexistent/libvirt-sock"]
"""))
    proc = run_cli("pools", "--json", config=config)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tuivirt: host ghost: ")
    assert lines[0].endswith("(its pools are not listed)")
    hosts = {p["host"] for p in json.loads(proc.stdout)}
    assert hosts == {"local", "hostb"}


@pytest.mark.parametrize("host", HOSTS)
def test_create_with_backing_list_resize_refresh(lab: Lab, lab_config: Path,
                                                 volume_name: Callable[[str], str],
                                                 host: str) -> None:
    base, top = volume_name(host), volume_name(host)
    proc = run_cli("volume", "create", f"{host}/{POOL}", base, "--size", "16M", "--format",
                   "raw", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    base_path = f"{pool_dir(lab, host)}/{base}"
    proc = run_cli("volume", "create", f"{host}/{POOL}", top, "--size", "64M",
                   "--backing", base_path, config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{POOL}/{top}: created (qcow2, 64 MiB, backed by {base_path})" \
        in proc.stdout
    xml = vol_xml(lab, host, top)
    assert "<format type='qcow2'/>" in xml and f"<path>{base_path}</path>" in xml
    assert capacity(lab, host, top) == 64 * 2**20

    proc = run_cli("volumes", f"{host}/{POOL}", "--json", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    listed = {v["name"]: v for v in json.loads(proc.stdout)}
    assert (listed[top]["format"], listed[top]["capacity"], listed[top]["backing"]) == (
        "qcow2", 64 * 2**20, base_path)
    assert (listed[base]["format"], listed[base]["capacity"]) == ("raw", 16 * 2**20)
    assert listed[top]["used_by"] == [] and listed[top]["path"] == f"{pool_dir(lab, host)}/{top}"
    proc = run_cli("volumes", f"{host}/{POOL}", config=lab_config)
    row = next(line.split() for line in proc.stdout.splitlines() if line.startswith(top))
    assert row[:3] == [top, "qcow2", "64"] and row[3] == "MiB"

    proc = run_cli("volume", "resize", f"{host}/{POOL}/{top}", "--size", "128M",
                   config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{POOL}/{top}: resized from 64 MiB to 128 MiB" in proc.stdout
    assert capacity(lab, host, top) == 128 * 2**20
    # Shrinking needs --shrink; without it nothing changes.
    proc = run_cli("volume", "resize", f"{host}/{POOL}/{top}", "--size", "32M",
                   config=lab_config)
    assert proc.returncode == 1
    assert "32 MiB is less than its 128 MiB" in proc.stderr and "--shrink" in proc.stderr
    assert capacity(lab, host, top) == 128 * 2**20

    # The base image under the overlay is not deleted (the overlay would be lost).
    proc = run_cli("volume", "delete", f"{host}/{POOL}/{base}", "--yes", config=lab_config)
    assert proc.returncode == 1
    assert f"{host}/{POOL}/{base}: the backing file of volume {top}: delete that first" \
        in proc.stderr
    assert base in vol_names(lab, host)

    # A file put in the pool's directory behind libvirt's back shows after a refresh.
    stray = volume_name(host)
    (pool_dir(lab, host) / stray).write_bytes(b"\0" * 4096)
    assert stray not in vol_names(lab, host)
    proc = run_cli("pool", "refresh", f"{host}/{POOL}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{POOL}: refreshed (now active," in proc.stdout
    assert stray in vol_names(lab, host)


@pytest.mark.parametrize(("host", "by"), [("local", "volume"), ("hostb", "path")])
def test_a_guest_using_a_volume_blocks_its_deletion(
        lab: Lab, lab_config: Path, volume_name: Callable[[str], str],
        guest_with_disk: Callable[[str, str], str], host: str, by: str) -> None:
    name = volume_name(host)
    proc = run_cli("volume", "create", f"{host}/{POOL}", name, "--size", "8M",
                   config=lab_config)
    assert proc.returncode == 0, proc.stderr
    path = f"{pool_dir(lab, host)}/{name}"
    source = (f"<source pool='{POOL}' volume='{name}'/>" if by == "volume"
              else f"<source file='{path}'/>")
    guest = guest_with_disk(host, f"<disk type='{'volume' if by == 'volume' else 'file'}' "
                            f"device='disk'><driver name='qemu' type='qcow2'/>{source}"
                            "<target dev='vda' bus='virtio'/></disk>")

    proc = run_cli("volumes", f"{host}/{POOL}", "--json", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert {v["name"]: v["used_by"] for v in json.loads(proc.stdout)}[name] == [guest]
    proc = run_cli("volume", "delete", f"{host}/{POOL}/{name}", "--yes", config=lab_config)
    assert proc.returncode == 1
    assert f"{host}/{POOL}/{name}: in use by {guest}: remove it from its definition " \
        "first" in proc.stderr
    assert name in vol_names(lab, host)

    lab.virsh(host, "undefine", guest)
    proc = run_cli("volume", "delete", f"{host}/{POOL}/{name}", "--yes", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{POOL}/{name}: deleted" in proc.stdout
    assert name not in vol_names(lab, host)
    assert not Path(path).exists()


class Terminal(PtyRun):
    def __init__(self, argv: list[str]) -> None:
        self.out = b""
        super().__init__(argv)

    def received(self, data: bytes) -> None:
        self.out += data

    def wait_for(self, text: bytes, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        with self.cond:
            while text not in self.out:
                left = end - time.monotonic()
                assert left > 0, f"no {text!r} in {self.out[-2000:]!r}"
                self.cond.wait(left)


def test_delete_on_a_terminal_wants_the_name_typed(lab: Lab, lab_config: Path,
                                                  volume_name: Callable[[str], str]) -> None:
    name = volume_name("local")
    proc = run_cli("volume", "create", f"local/{POOL}", name, "--size", "1M",
                   config=lab_config)
    assert proc.returncode == 0, proc.stderr
    argv = [sys.executable, "-m", "tuivirt", "--config", str(lab_config), "volume",
            "delete", f"local/{POOL}/{name}"]
    term = Terminal(argv)
    term.wait_for(b"to delete volume: ")
    term.send(b"y\r")  # what y/N prompts accept: not enough here
    assert term.proc.wait(60) == 1
    term.wait_for(b"cancelled; nothing was changed")
    assert name in vol_names(lab, "local")

    term = Terminal(argv)
    term.wait_for(f"type the name ({name}) to delete volume: ".encode())
    term.send(name.encode() + b"\r")
    assert term.proc.wait(60) == 0
    term.wait_for(b": deleted")
    assert name not in vol_names(lab, "local")


def test_names_from_the_pool_are_printed_inert(lab: Lab, lab_config: Path,
                                               volume_name: Callable[..., str]) -> None:
    # libvirt skips file names XML cannot carry (ESC...); a bidi override and a TAB pass.
    name = volume_name("local", "\u202eevil\t")
    (pool_dir(lab, "local") / name).write_bytes(b"")
    lab.virsh("local", "pool-refresh", POOL)
    proc = run_cli("volumes", f"local/{POOL}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert "\u202e" not in proc.stdout and "\t" not in proc.stdout
    assert name.replace("\u202e", "\\u202e").replace("\t", "\\t") in proc.stdout
    proc = run_cli("volumes", f"local/{POOL}", "--json", config=lab_config)
    assert name in [v["name"] for v in json.loads(proc.stdout)]  # exact for scripts


def test_read_only_host_refuses_every_storage_change(lab: Lab, tmp_path: Path,
                                                    state_home: Path,
                                                    volume_name: Callable[[str], str]) -> None:
    existing = volume_name("hostb")
    lab.virsh("hostb", "vol-create-as", POOL, existing, "1M", "--format", "raw")
    config = tmp_path / "ro.toml"
    config.write_text(lab.config_text(hostb_read_only=True))
    new = volume_name("hostb")
    refused = {
        f"create volume {new} in pool {POOL}": ("volume", "create", f"hostb/{POOL}", new,
                                               "--size", "1M"),
        f"resize volume {existing} in pool {POOL}": ("volume", "resize",
                                                     f"hostb/{POOL}/{existing}", "--size",
                                                     "2M"),
        f"delete volume {existing} in pool {POOL}": ("volume", "delete",
                                                     f"hostb/{POOL}/{existing}", "--yes"),
        f"stop pool {POOL}": ("pool", "stop", f"hostb/{POOL}", "--yes"),
        f"set autostart of pool {POOL}": ("pool", "autostart", f"hostb/{POOL}",
                                          "--disable"),
        f"refresh pool {POOL}": ("pool", "refresh", f"hostb/{POOL}"),
        f"start pool {POOL}": ("pool", "start", f"hostb/{POOL}"),
    }
    for what, args in refused.items():
        proc = run_cli(*args, config=config)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert f"host hostb is read-only: refusing to {what}" in proc.stderr, args
    assert new not in vol_names(lab, "hostb")
    assert capacity(lab, "hostb", existing) == 2**20
    info = lab.virsh("hostb", "pool-info", POOL)
    assert re.search(r"State:\s+running", info) and re.search(r"Autostart:\s+yes", info)
    # Listing is no change: a read-only host lists.
    proc = run_cli("volumes", f"hostb/{POOL}", config=config)
    assert proc.returncode == 0 and existing in proc.stdout


def test_bad_input_is_refused_clearly_and_leaves_nothing(
        lab: Lab, lab_config: Path, volume_name: Callable[[str], str]) -> None:
    name = volume_name("local")
    before = vol_names(lab, "local")

    def refused(code: int, words: str, *args: str) -> None:
        proc = run_cli(*args, config=lab_config)
        assert proc.returncode == code, (args, proc.stderr)
        assert words in proc.stderr, (args, proc.stderr)

    refused(2, "--size: size '2X': unknown unit 'X'", "volume", "create", f"local/{POOL}",
            name, "--size", "2X")
    refused(2, "size 'lots' does not parse: use a number with an optional unit: 512M, 2G",
            "volume", "create", f"local/{POOL}", name, "--size", "lots")
    refused(2, "unknown pool 'nopool' on local (pools: ", "volume", "create",
            "local/nopool", name, "--size", "1M")
    refused(2, "a volume name cannot hold '/'", "volume", "create", f"local/{POOL}",
            "a/b", "--size", "1M")
    refused(2, "unknown format 'qcow3'", "volume", "create", f"local/{POOL}", name,
            "--size", "1M", "--format", "qcow3")
    refused(2, f"no volume '{name}' in pool {POOL} on local", "volume", "resize",
            f"local/{POOL}/{name}", "--size", "1M")
    refused(2, "expected HOST/POOL/NAME", "volume", "delete", f"local/{POOL}")
    available = json.loads(run_cli("pools", "--json", "local", config=lab_config).stdout)[0][
        "available"]
    refused(1, f"not enough room: pool {POOL} has ", "volume", "create", f"local/{POOL}",
            name, "--size", str(available + 2**30))
    assert vol_names(lab, "local") == before

    proc = run_cli("volume", "create", f"local/{POOL}", name, "--size", "1M",
                   config=lab_config)
    assert proc.returncode == 0, proc.stderr
    refused(1, f"a volume named '{name}' already exists in pool {POOL} on local", "volume",
            "create", f"local/{POOL}", name, "--size", "2M", "--format", "raw")
    assert capacity(lab, "local", name) == 2**20  # the first one, untouched
    refused(1, "not enough room", "volume", "resize", f"local/{POOL}/{name}", "--size",
            str(available + 2**30))
    assert capacity(lab, "local", name) == 2**20
