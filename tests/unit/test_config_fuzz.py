"""What a sysadmin's worst day writes into the hosts config: every file is refused at load.

Each one goes through the real command (`tuivirt list`): exit code 2, one message that
names the file, the line (where the mistake has one) and the key, and never a traceback.
None of them reaches a daemon, so these run without the lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

H = '[[host]]\nname = "a"\n'  # the start of a host table (lines 1-2)
LV = 'libvirt = ["qemu:///system"]\n'
MISSING = "/nonexistent/tuivirt-test/id_ed25519"

# (id, file text, line the message names or None, key the message names or None,
#  a fragment of the message)
CASES: list[tuple[str, str, int | None, str | None, str]] = [
    # not TOML at all
    ("toml-unclosed-array", H + 'libvirt = ["qemu:///system"\n', 3, None, "not valid TOML"),
    ("toml-key-twice", H + LV + 'name = "b"\n', 4, None, "not valid TOML"),
    ("toml-no-key", H + "= 1\n", 3, None, "not valid TOML"),
    ("toml-bad-number", "timeout = 1e\n" + H + LV, 1, None, "not valid TOML"),
    ("toml-unclosed-string", H + 'libvirt = ["qemu:///system]\n', 3, None, "not valid TOML"),
    # top level
    ("unknown-top-key", "timeot = 5\n" + H + LV, 1, "timeot", "did you mean 'timeout'"),
    ("theme-number", "theme = 5\n" + H + LV, 1, "theme", "must be a string"),
    ("theme-table", H + LV + "[theme]\nx = 1\n", 4, "theme", "must be a string"),
    ("timeout-string", 'timeout = "10"\n' + H + LV, 1, "timeout", "positive number"),
    ("timeout-bool", "timeout = true\n" + H + LV, 1, "timeout", "positive number"),
    ("timeout-zero", "timeout = 0\n" + H + LV, 1, "timeout", "positive number"),
    ("timeout-negative", "timeout = -1\n" + H + LV, 1, "timeout", "positive number"),
    ("timeout-nan", "timeout = nan\n" + H + LV, 1, "timeout", "at most 3600"),
    ("timeout-inf", "timeout = inf\n" + H + LV, 1, "timeout", "at most 3600"),
    ("timeout-1e400", "timeout = 1e400\n" + H + LV, 1, "timeout", "at most 3600"),
    ("timeout-1e10", "timeout = 1e10\n" + H + LV, 1, "timeout", "at most 3600"),
    ("timeout-huge-int", "timeout = 99999999999999\n" + H + LV, 1, "timeout", "at most"),
    ("host-string", 'host = "a"\n', 1, "host", "array of tables"),
    ("host-table", '[host]\nname = "a"\n' + LV, 1, "host", "array of tables"),
    ("host-empty-array", "host = []\n", 1, "host", "no hosts configured"),
    ("no-hosts", 'theme = "tuivirt-dark"\n', None, None, "no hosts configured"),
    ("empty-file", "", None, None, "no hosts configured"),
    # a host's name
    ("empty-host-table", "[[host]]\n", 1, "host[0].name", "needs a name"),
    ("name-number", "[[host]]\nname = 5\n" + LV, 2, "host[0].name", "needs a name"),
    ("name-empty", '[[host]]\nname = ""\n' + LV, 2, "host[0].name", "needs a name"),
    ("name-slash", '[[host]]\nname = "a/b"\n' + LV, 2, "host[0].name", "no '/'"),
    ("name-bidi", '[[host]]\nname = "a\\u202eb"\n' + LV, 2, "host[0].name", "letters"),
    ("name-twice", H + LV + H + LV, 5, "host[1].name", "used twice"),
    ("unknown-host-key", H + LV + 'lable = "red"\n', 4, "host[0] (a).lable",
     "did you mean 'label'"),
    ("unknown-subtable", H + LV + "[host.extra]\nx = 1\n", 4, "host[0] (a).extra",
     "unknown key"),
    ("no-endpoint", H, 1, "host[0] (a).libvirt", "at least one of"),
    # libvirt URIs
    ("libvirt-string", H + 'libvirt = "qemu:///system"\n', 3, "host[0] (a).libvirt",
     'libvirt = ["qemu:///system"]'),
    ("libvirt-number", H + "libvirt = [1]\n", 3, "host[0] (a).libvirt", "list of libvirt"),
    ("libvirt-table", H + "[host.libvirt]\nuri = 1\n", 3, "host[0] (a).libvirt",
     "list of libvirt"),
    ("libvirt-empty-uri", H + 'libvirt = [""]\n', 3, "host[0] (a).libvirt", "not a libvirt URI"),
    ("libvirt-ssh-no-host", H + 'libvirt = ["qemu+ssh://"]\n', 3, "host[0] (a).libvirt",
     "needs a host"),
    ("libvirt-tls-no-host", H + 'libvirt = ["qemu+tls:///system"]\n', 3,
     "host[0] (a).libvirt", "needs a host"),
    ("libvirt-one-slash", H + 'libvirt = ["qemu:/system"]\n', 3, "host[0] (a).libvirt",
     "not a libvirt URI"),
    ("libvirt-unknown-driver", H + 'libvirt = ["kvm:///system"]\n', 3, "host[0] (a).libvirt",
     "unknown libvirt driver 'kvm'"),
    ("libvirt-unknown-transport", H + 'libvirt = ["qemu+smtp://h/system"]\n', 3,
     "host[0] (a).libvirt", "unknown transport 'smtp'"),
    ("libvirt-bad-ip", H + 'libvirt = ["qemu+ssh://root@256.1.1.1/system"]\n', 3,
     "host[0] (a).libvirt", "not an IPv4 address"),
    ("libvirt-bad-port", H + 'libvirt = ["qemu+tcp://h:70000/system"]\n', 3,
     "host[0] (a).libvirt", "1 to 65535"),
    ("libvirt-bad-hostname", H + 'libvirt = ["qemu+ssh://bad host/system"]\n', 3,
     "host[0] (a).libvirt", "not a host name"),
    ("libvirt-qemu-no-path", H + 'libvirt = ["qemu://"]\n', 3, "host[0] (a).libvirt",
     "/system or /session"),
    ("libvirt-second-bad", H + 'libvirt = ["qemu:///system",\n  "lxc+ssh://"]\n', 3,
     "host[0] (a).libvirt", "'lxc+ssh://'"),
    # Docker endpoints
    ("docker-number", H + "docker = 5\n", 3, "host[0] (a).docker", "not a Docker endpoint"),
    ("docker-ftp", H + 'docker = "ftp://x"\n', 3, "host[0] (a).docker",
     "not a Docker endpoint"),
    ("docker-bad-ip-port", H + 'docker = "tcp://256.1.1.1:99999"\n', 3,
     "host[0] (a).docker", "not an IPv4 address"),
    ("docker-bad-port", H + 'docker = "tcp://10.0.0.1:99999"\n', 3, "host[0] (a).docker",
     "1 to 65535"),
    ("docker-no-port", H + 'docker = "http://x"\n', 3, "host[0] (a).docker",
     "needs a port"),
    ("docker-port-word", H + 'docker = "tcp://h:abc"\n', 3, "host[0] (a).docker",
     "1 to 65535"),
    ("docker-bad-ipv6", H + 'docker = "tcp://[::zz]:2375"\n', 3, "host[0] (a).docker",
     "not an IPv6 address"),
    ("docker-unix-relative", H + 'docker = "unix://docker.sock"\n', 3, "host[0] (a).docker",
     "absolute socket path"),
    ("docker-unix-empty", H + 'docker = "unix://"\n', 3, "host[0] (a).docker",
     "absolute socket path"),
    ("docker-tcp-path", H + 'docker = "tcp://h:2375/v1.40?x=1"\n', 3, "host[0] (a).docker",
     "nothing after the port"),
    # SSH
    ("ssh-number", H + LV + "ssh = 5\n", 4, "host[0] (a).ssh", "user@host:port"),
    ("ssh-empty", H + LV + 'ssh = ""\n', 4, "host[0] (a).ssh", "user@host:port"),
    ("ssh-double-at", H + LV + 'ssh = "root@@x"\n', 4, "host[0] (a).ssh", "user@host:port"),
    ("ssh-bad-port", H + LV + 'ssh = "root@h:99999"\n', 4, "host[0] (a).ssh", "out of range"),
    ("ssh-docker-tcp", H + 'ssh = "root@h"\ndocker = "tcp://h:2375"\n', 4,
     "host[0] (a).docker", "remote unix socket"),
    ("identity-without-ssh", H + LV + 'ssh_identity = "~/.ssh/k"\n', 4,
     "host[0] (a).ssh_identity", "only makes sense with ssh"),
    ("identity-number", H + LV + 'ssh = "root@h"\nssh_identity = 5\n', 5,
     "host[0] (a).ssh_identity", "file path"),
    ("identity-missing", H + LV + f'ssh = "root@h"\nssh_identity = "{MISSING}"\n', 5,
     "host[0] (a).ssh_identity", f"'{MISSING}' does not exist"),
    ("known-hosts-missing", H + LV + f'ssh = "root@h"\nssh_known_hosts = "{MISSING}"\n', 5,
     "host[0] (a).ssh_known_hosts", f"'{MISSING}' does not exist"),
    ("known-hosts-directory", H + LV + 'ssh = "root@h"\nssh_known_hosts = "/"\n', 5,
     "host[0] (a).ssh_known_hosts", "'/' is not a file"),
    # the rest
    ("read-only-string", H + LV + 'read_only = "yes"\n', 4, "host[0] (a).read_only",
     "true or false"),
    ("read-only-number", H + LV + "read_only = 1\n", 4, "host[0] (a).read_only",
     "true or false"),
    ("label-not-colour", H + LV + 'label = "notacolour"\n', 4, "host[0] (a).label",
     "not a colour"),
    ("label-number", H + LV + "label = 5\n", 4, "host[0] (a).label", "not a colour"),
    ("second-host-bad", H + LV + '\n[[host]]\nname = "b"\ndocker = "tcp://b"\n', 7,
     "host[1] (b).docker", "needs a port"),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_malformed_config_exits_2_naming_file_line_and_key(
        tmp_path: Path, text: str, line: int | None, key: str | None, fragment: str) -> None:
    path = tmp_path / "hosts.toml"
    path.write_text(text)
    proc = run_cli("list", config=path, timeout=30)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert f"tuivirt: config error: {where}" in proc.stderr, proc.stderr
    if key is not None:
        assert f"{where} {key}: " in proc.stderr, proc.stderr
    assert fragment in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hosts.toml"
    path.write_bytes(b'[[host]]\nname = "\xff"\n')
    proc = run_cli("list", config=path, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"config error: {path}: cannot read" in proc.stderr


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "1e10", "1e400"])
def test_timeout_flag_has_the_config_rule(tmp_path: Path, value: str) -> None:
    path = tmp_path / "hosts.toml"
    path.write_text(H + 'libvirt = ["test:///default"]\n')
    proc = run_cli(f"--timeout={value}", "list", config=path, timeout=30)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert "--timeout must be a positive number of seconds, at most 3600" in proc.stderr


def test_good_uris_still_load(tmp_path: Path) -> None:
    """The checks refuse mistakes, not the URIs libvirt and Docker document."""
    from tuivirt.config import docker_url_problem, libvirt_uri_problem

    for uri in ("qemu:///system", "qemu:///session", "lxc:///", "lxc:///system",
                "test:///default", "qemu+ssh://root@host.example/system",
                "qemu+tcp://10.0.0.1:16509/system", "qemu+tls://[fe80::1]/system",
                "qemu://host/system", "xen:///system", "qemu+unix:///system?socket=/s",
                "esx://root@esx.example/?no_verify=1", "qemu+libssh2://u@h:2222/system",
                "qemu+ext:///system?command=/bin/x", "ch:///system", "network:///system"):
        assert libvirt_uri_problem(uri) is None, uri
    for url in ("unix:///var/run/docker.sock", "tcp://10.0.0.1:2375", "https://h.example:2376",
                "http://[::1]:2375", "tcp://docker:2375/"):
        assert docker_url_problem(url) is None, url
