"""Making containers, the parts that need no daemon: the words a user types for ports,
env, volumes, restart policies and commands; the LXC definition; the check of a root
directory's init (run here with sh, as on a host); an image pull's progress summed over
its layers; and a pull cancelled while the daemon is silent."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_docker import FakeDocker
from tuivirt.create import container as ct
from tuivirt.create.lxc import (
    ROOT_CHECK,
    LXCSpec,
    NetKind,
    NetworkChoice,
    lxc_xml,
    root_problem,
)

# -- ports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("8080:80", ct.PortMap(8080, 80, "tcp", "")),
    ("5353:53/udp", ct.PortMap(5353, 53, "udp", "")),
    ("5353:53/UDP", ct.PortMap(5353, 53, "udp", "")),
    ("127.0.0.1:8080:80", ct.PortMap(8080, 80, "tcp", "127.0.0.1")),
    ("[::1]:8443:443/tcp", ct.PortMap(8443, 443, "tcp", "::1")),
    ("1:65535/sctp", ct.PortMap(1, 65535, "sctp", "")),
])
def test_ports_parse(text: str, expected: ct.PortMap) -> None:
    assert ct.parse_port(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("80", "expected HOST:CONTAINER"),
    ("8080:80/icmp", "unknown protocol 'icmp'"),
    ("0:80", "the host port must be 1-65535, not '0'"),
    ("8080:65536", "the container port must be 1-65535, not '65536'"),
    ("http:80", "the host port must be 1-65535, not 'http'"),
    ("300.1.1.1:80:80", "'300.1.1.1' is not an IP address"),
    ("8000-8010:80", "port ranges are not supported"),
    ("[::1:80:80", "expected HOST:CONTAINER"),
    ("a:b:c:d", "expected HOST:CONTAINER"),
])
def test_malformed_ports_say_what_would_do(text: str, words: str) -> None:
    with pytest.raises(ct.SpecError) as caught:
        ct.parse_port(text)
    assert str(caught.value).startswith(f"--port {text!r}: ")
    assert words in str(caught.value)


def test_a_host_port_mapped_twice_is_refused_but_another_protocol_is_not() -> None:
    spec = ct.ContainerSpec("local", "web", "nginx", ports=(
        ct.parse_port("8080:80"), ct.parse_port("8080:80/udp"), ct.parse_port("8080:81")))
    assert spec.problems() == ["--port 8080:81/tcp: host port 8080/tcp is already mapped "
                               "by 8080:80/tcp"]


# -- env -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("A=1", ("A", "1")),
    ("EMPTY=", ("EMPTY", "")),
    ("URL=http://x/?a=b", ("URL", "http://x/?a=b")),
    ("GREETING=hi there", ("GREETING", "hi there")),
])
def test_env_parses(text: str, expected: tuple[str, str]) -> None:
    assert ct.parse_env(text) == expected


@pytest.mark.parametrize("text", ["NOEQUALS", "=value", "A B=1", "A\x00=1"])
def test_malformed_env_is_refused(text: str) -> None:
    with pytest.raises(ct.SpecError, match="expected KEY=VALUE"):
        ct.parse_env(text)


def test_env_given_twice_is_refused() -> None:
    spec = ct.ContainerSpec("local", "web", "nginx", env=(("A", "1"), ("B", "2"),
                                                          ("A", "3")))
    assert spec.problems() == ["--env A: given twice"]


# -- volumes -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected", "named"), [
    ("/srv/data:/data", ct.VolumeMap("/srv/data", "/data", False), False),
    ("/srv/data:/data:ro", ct.VolumeMap("/srv/data", "/data", True), False),
    ("/srv/data:/data:rw", ct.VolumeMap("/srv/data", "/data", False), False),
    ("cache:/var/cache", ct.VolumeMap("cache", "/var/cache", False), True),
])
def test_volumes_parse(text: str, expected: ct.VolumeMap, named: bool) -> None:
    assert ct.parse_volume(text) == expected
    assert expected.named is named


@pytest.mark.parametrize(("text", "words"), [
    ("/data", "expected SOURCE:TARGET[:ro]"),
    ("./rel:/data", "the source must be an absolute path on the host or a volume name"),
    ("/srv:data", "the target must be an absolute path in the container"),
    ("/srv:/data:rx", "the mode must be ro or rw, not 'rx'"),
    (":/data", "expected SOURCE:TARGET"),
    ("/a:/b:ro:x", "expected SOURCE:TARGET"),
])
def test_malformed_volumes_say_what_would_do(text: str, words: str) -> None:
    with pytest.raises(ct.SpecError) as caught:
        ct.parse_volume(text)
    assert str(caught.value).startswith(f"--volume {text!r}: ")
    assert words in str(caught.value)


def test_one_target_mounted_twice_is_refused() -> None:
    spec = ct.ContainerSpec("local", "web", "nginx", volumes=(
        ct.parse_volume("/a:/data"), ct.parse_volume("bb:/data/")))
    assert spec.problems() == ["--volume: /data is mounted twice"]


# -- restart, command, names ---------------------------------------------------------------
@pytest.mark.parametrize(("text", "api"), [
    ("no", {"Name": "no", "MaximumRetryCount": 0}),
    ("always", {"Name": "always", "MaximumRetryCount": 0}),
    ("unless-stopped", {"Name": "unless-stopped", "MaximumRetryCount": 0}),
    ("on-failure", {"Name": "on-failure", "MaximumRetryCount": 0}),
    ("on-failure:5", {"Name": "on-failure", "MaximumRetryCount": 5}),
])
def test_restart_policies_parse(text: str, api: dict[str, Any]) -> None:
    policy = ct.parse_restart(text)
    assert policy.api() == api
    assert str(policy) == text


@pytest.mark.parametrize(("text", "words"), [
    ("sometimes", "one of no, always, unless-stopped, on-failure"),
    ("always:3", "only on-failure takes a retry count"),
    ("on-failure:0", "the retry count must be a whole number from 1"),
    ("on-failure:x", "the retry count must be a whole number from 1"),
    ("on-failure:", "the retry count must be a whole number from 1"),
])
def test_malformed_restart_policies_are_refused(text: str, words: str) -> None:
    with pytest.raises(ct.SpecError, match=words):
        ct.parse_restart(text)


def test_commands_split_as_a_shell_would_without_running_one() -> None:
    assert ct.parse_command("sh -c 'echo $HOME; sleep 1'") == (
        "sh", "-c", "echo $HOME; sleep 1")
    with pytest.raises(ct.SpecError, match="No closing quotation"):
        ct.parse_command("sh -c 'unbalanced")
    with pytest.raises(ct.SpecError, match="--cmd is empty"):
        ct.parse_command("   ")


@pytest.mark.parametrize("name", ["a", "-web", "web/1", "wé", "web 1", ""])
def test_container_names_docker_refuses_are_refused_first(name: str) -> None:
    assert ct.ContainerSpec("local", name, "nginx").problems()[0].startswith(
        f"container name {name!r}: Docker takes")


def test_an_image_without_a_tag_means_latest_as_docker_stores_it() -> None:
    for image, full in (("tiny", "tiny:latest"), ("alpine:3.20", "alpine:3.20"),
                        ("reg:5000/team/app", "reg:5000/team/app:latest"),
                        ("app@sha256:abc", "app@sha256:abc")):
        assert ct.with_defaults(ct.ContainerSpec("h", "web", image)).image == full


# -- the LXC definition ----------------------------------------------------------------------
def test_lxc_definition_mounts_the_root_and_runs_its_init() -> None:
    from lxml import etree

    spec = LXCSpec("local", "dns", "/srv/ct/dns", init="/bin/sh", memory=64 * 2**20,
                   vcpus=2, network=NetworkChoice(NetKind.BRIDGE, "br0"))
    root = etree.fromstring(lxc_xml(spec).encode())
    assert root.get("type") == "lxc"
    assert root.findtext("name") == "dns" and root.findtext("uuid") == spec.uuid
    assert root.find("memory").get("unit") == "KiB"
    assert root.findtext("memory") == "65536" and root.findtext("vcpu") == "2"
    assert root.findtext("os/type") == "exe" and root.findtext("os/init") == "/bin/sh"
    assert root.find("devices/filesystem/source").get("dir") == "/srv/ct/dns"
    assert root.find("devices/filesystem/target").get("dir") == "/"
    assert root.find("devices/interface").get("type") == "bridge"
    assert root.find("devices/interface/source").get("bridge") == "br0"
    assert root.find("devices/console").get("type") == "pty"


def test_lxc_definition_escapes_what_the_user_typed() -> None:
    spec = LXCSpec("local", "a<b>&'\"", "/srv/<x>")
    assert "<name>a&lt;b&gt;&amp;'\"</name>" in lxc_xml(spec)
    assert 'dir="/srv/&lt;x&gt;"' in lxc_xml(spec)


def test_lxc_spec_problems() -> None:
    spec = LXCSpec("local", "a/b", "srv/ct", init="sbin/init", memory=2**20, vcpus=0,
                   network=NetworkChoice(NetKind.NETWORK, ""))
    assert spec.problems() == [
        "a name cannot hold '/' (it separates host and name): 'a/b'",
        "the root directory must be an absolute path on the host: 'srv/ct'",
        "the init must be an absolute path inside the root: 'sbin/init'",
        "memory: at least 16 MiB (an init needs room to start)",
        "vcpus: 1 to 4096, not 0",
        "the network needs a name",
    ]


# -- the root directory's init, resolved inside the root ------------------------------------
def _check(root: Path, init: str = "/sbin/init") -> str | None:
    out = subprocess.run(["sh", "-c", ROOT_CHECK, "sh", str(root), init],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return root_problem(out, LXCSpec("h", "ct", str(root), init=init), "h")


def _exe(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


def test_an_executable_init_is_found(tmp_path: Path) -> None:
    _exe(tmp_path / "sbin" / "init")
    assert _check(tmp_path) is None


def test_merged_usr_and_absolute_symlinks_resolve_inside_the_root(tmp_path: Path) -> None:
    # Debian's merged /usr: /sbin -> usr/sbin; systemd's /sbin/init -> /lib/systemd/...
    # with /lib -> usr/lib: every hop stays inside the root.
    _exe(tmp_path / "usr" / "lib" / "systemd" / "systemd")
    (tmp_path / "usr" / "sbin").mkdir(parents=True)
    (tmp_path / "sbin").symlink_to("usr/sbin")
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "usr" / "sbin" / "init").symlink_to("/lib/systemd/systemd")
    assert _check(tmp_path) is None
    # ..and a relative hop with `..` in it.
    (tmp_path / "usr" / "sbin" / "init2").symlink_to("../lib/./systemd/systemd")
    assert _check(tmp_path, "/sbin/init2") is None


def test_a_symlink_to_the_hosts_own_program_is_not_taken_for_an_init(
        tmp_path: Path) -> None:
    # /bin/sh exists on this machine; the tree has a symlink to it and nothing else.
    (tmp_path / "sbin").mkdir()
    (tmp_path / "sbin" / "init").symlink_to("/bin/sh")
    assert os.path.exists(tmp_path / "sbin" / "init")  # what a naive check would see
    assert _check(tmp_path) == (f"{tmp_path} on h holds no init /sbin/init (resolved "
                                "inside the root to /bin/sh): pass --init with the "
                                "container's init (e.g. /bin/sh)")


def test_root_problems_in_words(tmp_path: Path) -> None:
    assert _check(tmp_path / "nope") == f"no directory {tmp_path}/nope on h"
    (tmp_path / "file").write_text("")
    assert _check(tmp_path / "file") == f"{tmp_path}/file on h is not a directory"
    assert _check(tmp_path) == (f"{tmp_path} on h holds no init /sbin/init: pass --init "
                                "with the container's init (e.g. /bin/sh)")
    (tmp_path / "sbin" / "init").mkdir(parents=True)
    assert _check(tmp_path) == f"the init /sbin/init in {tmp_path} on h is not a file"
    _exe(tmp_path / "bin" / "plain")
    (tmp_path / "bin" / "plain").chmod(0o644)
    assert _check(tmp_path, "/bin/plain") == (f"the init /bin/plain in {tmp_path} on h is "
                                              "not executable")
    (tmp_path / "loop").symlink_to("loop")
    assert "too many levels of symbolic links" in (_check(tmp_path, "/loop") or "")


def test_paths_with_spaces_and_quotes_are_passed_as_they_are(tmp_path: Path) -> None:
    root = tmp_path / "my 'root' $HOME"
    _exe(root / "init dir" / "run me")
    assert _check(root, "/init dir/run me") is None


# -- pull progress ---------------------------------------------------------------------------
#: The shape of `docker pull`'s JSON stream (/images/create), two layers of an image, one
#: already on the host; the sizes and ids are made up, the statuses are Docker's.
PULL_EVENTS: list[dict[str, Any]] = [
    {"status": "Pulling from team/app", "id": "2.1"},
    {"status": "Already exists", "progressDetail": {}, "id": "0a0a0a0a0a0a"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "1b1b1b1b1b1b"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "2c2c2c2c2c2c"},
    {"status": "Waiting", "progressDetail": {}, "id": "2c2c2c2c2c2c"},
    {"status": "Downloading", "progressDetail": {"current": 1048576, "total": 4194304},
     "progress": "[============>      ]  1.049MB/4.194MB", "id": "1b1b1b1b1b1b"},
    {"status": "Downloading", "progressDetail": {"current": 524288, "total": 2097152},
     "progress": "[======>            ]  524.3kB/2.097MB", "id": "2c2c2c2c2c2c"},
    {"status": "Downloading", "progressDetail": {"current": 4194304, "total": 4194304},
     "progress": "[==================>]  4.194MB/4.194MB", "id": "1b1b1b1b1b1b"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "1b1b1b1b1b1b"},
    {"status": "Download complete", "progressDetail": {}, "id": "1b1b1b1b1b1b"},
    {"status": "Extracting", "progressDetail": {"current": 65536, "total": 4194304},
     "progress": "[>                  ]  65.54kB/4.194MB", "id": "1b1b1b1b1b1b"},
    {"status": "Retrying in 5 seconds", "progressDetail": {}, "id": "2c2c2c2c2c2c"},
    {"status": "Downloading", "progressDetail": {"current": 2097152, "total": 2097152},
     "progress": "[==================>]  2.097MB/2.097MB", "id": "2c2c2c2c2c2c"},
    {"status": "Download complete", "progressDetail": {}, "id": "2c2c2c2c2c2c"},
    {"status": "Pull complete", "progressDetail": {}, "id": "1b1b1b1b1b1b"},
    {"status": "Extracting", "progressDetail": {"current": 2097152, "total": 2097152},
     "progress": "[==================>]  2.097MB/2.097MB", "id": "2c2c2c2c2c2c"},
    {"status": "Pull complete", "progressDetail": {}, "id": "2c2c2c2c2c2c"},
    {"status": "Digest: sha256:" + "e" * 64},
    {"status": "Status: Downloaded newer image for team/app:2.1"},
]


def test_pull_progress_sums_the_layers() -> None:
    progress = ct.PullProgress("team/app:2.1")
    seen = [progress.feed(event) for event in PULL_EVENTS]
    lines = [ct.describe(s) for s in seen]
    assert lines[0] == "pulling team/app:2.1: Pulling from team/app"
    # The layer already there counts as done; sizes are known once a layer downloads.
    assert lines[3] == "pulling team/app:2.1: 1/3 layers"
    assert lines[5] == "pulling team/app:2.1: 1/3 layers, 1 MiB of 4 MiB"
    assert lines[6] == "pulling team/app:2.1: 1/3 layers, 1.5 MiB of 6 MiB"
    assert lines[7] == "pulling team/app:2.1: 1/3 layers, 4.5 MiB of 6 MiB"
    # Extracting: that layer is downloaded, whatever the extraction's own counter says.
    assert lines[10] == "pulling team/app:2.1: 1/3 layers, 4.5 MiB of 6 MiB"
    assert seen[11].downloaded == 4194304 + 524288  # retrying: waits, keeps its bytes
    assert lines[14] == "pulling team/app:2.1: 2/3 layers, 6 MiB of 6 MiB"
    final = seen[-1]
    assert (final.layers, final.done, final.downloaded, final.size) == (3, 3, 6 * 2**20,
                                                                        6 * 2**20)
    assert final.phase == "Status: Downloaded newer image for team/app:2.1"


def test_pull_error_carries_the_registrys_words() -> None:
    progress = ct.PullProgress("team/app:2.1")
    progress.feed(PULL_EVENTS[0])
    with pytest.raises(ct.PullError) as caught:
        progress.feed({"errorDetail": {"message": "manifest unknown"},
                       "error": "manifest unknown"})
    assert caught.value.message == "manifest unknown"
    with pytest.raises(ct.PullError, match="toomanyrequests"):
        progress.feed({"errorDetail": {"message": "toomanyrequests: rate limit"}})


# -- a pull cancelled while the daemon says nothing -----------------------------------------
@pytest.fixture()
def stalling_daemon() -> Iterator[FakeDocker]:
    daemon = FakeDocker(PULL_EVENTS[:2])
    yield daemon
    daemon.close()


def test_cancel_wakes_a_pull_waiting_on_a_silent_daemon_and_hangs_up(
        stalling_daemon: FakeDocker) -> None:
    from tuivirt.backends.docker import DockerEndpoint
    from tuivirt.backends.docker_pull import ImagePull, PullCancelled

    endpoint = DockerEndpoint("local", stalling_daemon.url, timeout=5)
    endpoint.open()
    pull = ImagePull(endpoint, "team/app:2.1", stall=30)
    statuses: list[ct.PullStatus] = []
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            pull.run(statuses.append)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    end = time.monotonic() + 10
    while len(statuses) < 2 and time.monotonic() < end:
        time.sleep(0.01)
    assert [s.layers for s in statuses] == [0, 1]  # it is reading, then the daemon stalls
    time.sleep(0.2)
    began = time.monotonic()
    pull.cancel()
    thread.join(5)
    woke = time.monotonic() - began
    assert not thread.is_alive(), "the reader stayed blocked after cancel()"
    assert woke < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], PullCancelled)
    assert stalling_daemon.hung_up.wait(5), "the daemon never saw the client go"
    endpoint.close()
