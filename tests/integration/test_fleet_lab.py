"""A fleet on the lab (tests/lab/fleet): 120 aliases of hostb's one stock sshd in a
generated ssh_config and Ansible inventories, one alias pointing nowhere, one with a
wrong host key, hosts behind a bastion (ProxyJump)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, Lab, run_cli
from tests.faults import Faults

pytestmark = pytest.mark.lab
COUNT = 120


@pytest.fixture()
def fleet_dir(lab: Lab) -> Path:
    path = lab.dir / "fleet"
    if not (path / "ssh_config").exists():
        message = f"the lab's fleet is not there ({path}): run tests/lab/up"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _config(tmp_path: Path, body: str, *, local: bool = True, head: str = "") -> Path:
    text = head + ("""
[[host]]
name = "local"
libvirt = ["qemu:///system"]
docker = "unix:///var/run/docker.sock"
""" if local else "") + body
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


def _listed(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {g["host"] for g in json.loads(proc.stdout)}


def test_120_hosts_from_ssh_config_all_come_up_and_the_two_bad_ones_say_why(
        lab: Lab, fleet_dir: Path, tmp_path: Path, state_home: Path) -> None:
    config = _config(tmp_path, f"""
[[hosts_from]]
ssh_config = "{fleet_dir}/ssh_config"
match = "kvm-*"
libvirt = ["qemu:///system"]
docker = "unix:///run/docker.sock"
""")
    start = time.monotonic()
    proc = run_cli("list", "--json", config=config)
    elapsed = time.monotonic() - start
    print(f"\nlist --json over {COUNT} ssh_config hosts + local: {elapsed:.2f} s")
    assert proc.returncode == 1, proc.stderr  # two hosts could not be listed
    good = {f"kvm-{i:03d}" for i in range(1, COUNT + 1)}
    listed = _listed(proc)
    assert good | {"local"} <= listed, sorted(good - listed)
    guests = json.loads(proc.stdout)
    assert {g["name"] for g in guests if g["host"] == "kvm-077"} >= {"tinyb", "boxb"}
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tuivirt: host")]
    assert len(errors) == 2, proc.stderr  # nobody else was refused by sshd's MaxStartups
    nowhere = next(line for line in errors if "kvm-nowhere" in line)
    assert "ssh kvm-nowhere: No route to host" in nowhere
    badkey = next(line for line in errors if "kvm-badkey" in line)
    # Its own UserKnownHostsFile (from the ssh_config) was the one checked, under its
    # HostKeyAlias, and the key was refused.
    assert "HOST KEY CHANGED: the host's identity is not the one recorded in " \
           f"{fleet_dir}/badkey_known_hosts:1" in badkey
    # The two did not hold the others up: well within the command's deadline (2 x 10 s
    # + 2), and not by the nowhere host's 3 s of ARP on top of the rest.
    assert elapsed < 15


@pytest.mark.parametrize("with_ansible", [True, False], ids=["ansible-inventory", "own"])
@pytest.mark.parametrize("inventory", ["inventory.ini", "inventory.yml"])
def test_ansible_inventory_groups_are_tags_and_tag_selects(
        lab: Lab, fleet_dir: Path, tmp_path: Path, state_home: Path,
        monkeypatch: pytest.MonkeyPatch, inventory: str, with_ansible: bool) -> None:
    bindir = os.path.dirname(sys.executable)
    if with_ansible and not os.path.exists(os.path.join(bindir, "ansible-inventory")):
        pytest.skip("ansible-core is not installed")
    paths = [p for p in os.environ["PATH"].split(os.pathsep)
             if not os.path.exists(os.path.join(p, "ansible-inventory"))]
    monkeypatch.setenv("PATH", os.pathsep.join(([bindir] if with_ansible else []) + paths))
    config = _config(tmp_path, f"""
[[hosts_from]]
ansible = "{fleet_dir}/{inventory}"
docker = "unix:///run/docker.sock"
ssh_known_hosts = "{lab.known_hosts}"
""")
    proc = run_cli("list", "--json", "--tag", "rack2", config=config)
    assert proc.returncode == 0, proc.stderr
    assert _listed(proc) == {f"node-{i:03d}" for i in range(31, 61)}
    proc = run_cli("hosts", "--json", "--tag", "rack1", config=config)
    facts = {h["name"]: h for h in json.loads(proc.stdout)}
    assert len(facts) == 30 and all(h["reachable"] for h in facts.values()), proc.stderr
    assert facts["node-001"]["tags"] == ["racks", "rack1"]
    assert facts["node-001"]["source"] == f"ansible {fleet_dir}/{inventory}"


def test_proxyjump_through_the_bastion_and_its_key_is_checked_too(
        lab: Lab, fleet_dir: Path, tmp_path: Path, state_home: Path) -> None:
    body = """
[[hosts_from]]
ssh_config = "{ssh_config}"
match = "jump-*"
docker = "unix:///run/docker.sock"
"""
    config = _config(tmp_path, body.format(ssh_config=fleet_dir / "ssh_config"), local=False)
    proc = run_cli("list", "--json", config=config)
    assert proc.returncode == 0, proc.stderr
    assert _listed(proc) == {f"jump-{i:03d}" for i in range(1, 11)}
    # The same fleet, with a known_hosts that holds hostb's key but not the bastion's:
    # the bastion is refused, named as the hop it is.
    known = tmp_path / "known_hosts"
    known.write_text((fleet_dir / "known_hosts").read_text().splitlines()[0] + "\n")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text((fleet_dir / "ssh_config").read_text().replace(
        f"UserKnownHostsFile {fleet_dir}/known_hosts", f"UserKnownHostsFile {known}"))
    config = _config(tmp_path, body.format(ssh_config=ssh_config), local=False)
    proc = run_cli("list", "--json", "--host", "jump-001", config=config)
    assert proc.returncode == 1
    assert (f"host jump-001: ssh bastion (ProxyJump of jump-001): host key not verified: "
            f"the host is not in {known}") in proc.stderr, proc.stderr


def test_a_broken_source_next_to_a_good_one(lab: Lab, fleet_dir: Path, tmp_path: Path,
                                            state_home: Path) -> None:
    config = _config(tmp_path, f"""
[[hosts_from]]
ansible = "{tmp_path}/gone.ini"
docker = "unix:///run/docker.sock"

[[hosts_from]]
ssh_config = "{fleet_dir}/ssh_config"
match = "kvm-00[1-5]"
docker = "unix:///run/docker.sock"
""")
    proc = run_cli("list", "--json", config=config)
    assert proc.returncode == 1
    assert _listed(proc) == {"local", *(f"kvm-00{i}" for i in range(1, 6))}
    assert (f"tuivirt: hosts_from[0] (ansible {tmp_path}/gone.ini, fleet.toml:7): "
            f"{tmp_path}/gone.ini: no such file; its hosts are not listed") in proc.stderr


@pytest.fixture()
def live_fleet(fleet_dir: Path, tmp_path: Path) -> Iterator[object]:
    from tuivirt.config import load_config
    from tuivirt.session import Fleet

    config = _config(tmp_path, f"""
[[hosts_from]]
ssh_config = "{fleet_dir}/ssh_config"
match = "kvm-[01]*"
docker = "unix:///run/docker.sock"
""", local=False, head="timeout = 5\n")
    fleet = Fleet(load_config(config), live=True)
    fleet.start()
    yield fleet
    threading.Thread(target=fleet.close, daemon=True).start()


def _states(fleet: object) -> dict[str, str]:
    return {s.name: str(s.state) for s in fleet.inventory.host_statuses()}  # type: ignore[attr-defined]


def _wait(fleet: object, want: str, timeout: float) -> float:
    """Seconds until every host is in `want` ("lost": lost, or trying again)."""
    wanted = {"lost", "reconnecting"} if want == "lost" else {want}
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        states = _states(fleet)
        if len(states) == COUNT and all(st in wanted for st in states.values()):
            return time.monotonic() - start
        time.sleep(0.5)
    counts: dict[str, int] = {}
    for st in _states(fleet).values():
        counts[st] = counts.get(st, 0) + 1
    raise AssertionError(f"not all {want} after {timeout:g} s: {counts}")


def test_cutting_hostbs_link_loses_all_120_and_they_all_come_back(
        lab: Lab, faults: Faults, live_fleet: object) -> None:
    up = _wait(live_fleet, "connected", 60)
    # Cut on hostb's side: a pytest session starting elsewhere meanwhile sets tvlab0 up
    # again (the lab fixture), which undid the cut within seconds in a busy lab.
    hostb_link = ["ip", "netns", "exec", "hostb", "ip", "link", "set", "tvlab1"]
    subprocess.run([*hostb_link, "down"], check=True)
    try:
        lost = _wait(live_fleet, "lost", 60)
    finally:
        subprocess.run([*hostb_link, "up"], check=True)
        subprocess.run(["ip", "link", "set", "tvlab0", "up"], check=True)
    back = _wait(live_fleet, "connected", 120)
    print(f"\n{COUNT} hosts: up {up:.1f} s; lost {lost:.1f} s after the cut; "
          f"all back {back:.1f} s after the link returned")
