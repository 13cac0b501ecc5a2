"""[[registry]] in the config (errors name file, line and key; no secret in the config),
reading a credentials file (never quoting the secret), and a push's progress."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tuivirt.backends.docker_images import PushProgress
from tuivirt.config import parse_config
from tuivirt.create.container import describe
from tuivirt.errors import ConfigError
from tuivirt.registries import (
    RegistryConfig,
    RegistryError,
    for_image,
    image_registry,
    read_credentials,
)

HOST = '[[host]]\nname = "a"\ndocker = "unix:///run/docker.sock"\n'


def test_registries_parse(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("me:s3cret\n")
    config = parse_config(HOST + f'\n[[registry]]\nurl = "https://Reg.example.com:5000/"\n'
                          f'credentials = "{creds}"\n\n[[registry]]\nurl = "10.77.0.2:5000"\n',
                          "c.toml")
    first, second = config.registries
    assert (first.address, first.credentials) == ("reg.example.com:5000", str(creds))
    assert (second.address, second.credentials) == ("10.77.0.2:5000", None)
    assert for_image(config.registries, "10.77.0.2:5000/team/app:1") is second
    assert for_image(config.registries, "alpine:3") is None


@pytest.mark.parametrize(("tail", "line", "key", "fragment"), [
    ('[[registry]]\nurl = "r:5000"\npassword = "x"\n', 7, "registry[0].password",
     "a secret never goes in the config"),
    ('[[registry]]\nurl = "r:5000"\ncredentails = "/x"\n', 7, "registry[0].credentails",
     "did you mean 'credentials'"),
    ('[[registry]]\nurl = "not a url"\n', 6, "registry[0].url", "not a registry address"),
    ('[[registry]]\nurl = "r:70000"\n', 6, "registry[0].url", "out of range"),
    ('[[registry]]\ncredentials = "/x"\n', 5, "registry[0].url", "needs a url"),
    ('[[registry]]\nurl = "r:5000"\ncredentials = "/nonexistent/creds"\n', 7,
     "registry[0] (r:5000).credentials", "does not exist"),
    ('[[registry]]\nurl = "r:5000"\n\n[[registry]]\nurl = "http://r:5000"\n', 9,
     "registry[1].url", "configured twice"),
])
def test_bad_registries_name_file_line_and_key(tail: str, line: int, key: str,
                                               fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(HOST + "\n" + tail, "c.toml")
    assert (caught.value.line, caught.value.key) == (line, key), str(caught.value)
    assert fragment in caught.value.message


def test_registry_must_be_tables() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('registry = "r:5000"\n' + HOST, "c.toml")
    assert (caught.value.line, caught.value.key) == (1, "registry")
    assert "[[registry]]" in caught.value.message


def test_image_registry_is_dockers() -> None:
    assert image_registry("alpine") == "docker.io"
    assert image_registry("team/app:1") == "docker.io"
    assert image_registry("10.77.0.2:5000/app") == "10.77.0.2:5000"
    assert image_registry("localhost/app") == "localhost"
    assert image_registry("reg.example.com/a/b@sha256:00") == "reg.example.com"


def test_credentials_file_forms(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("\nme:pa:ss\n")
    assert read_credentials(RegistryConfig("r:5000", "r:5000", str(plain))) == ("me", "pa:ss")
    cfg = tmp_path / "config.json"
    token = base64.b64encode(b"bob:hunter2").decode()
    cfg.write_text(json.dumps({"auths": {"r:5000": {"auth": token}}}))
    assert read_credentials(RegistryConfig("r:5000", "r:5000", str(cfg))) == ("bob", "hunter2")
    assert read_credentials(RegistryConfig("r:5000", "r:5000", None)) is None


@pytest.mark.parametrize("content", ["justapassword-hunter2\n", '{"auths": {}}'])
def test_unusable_credentials_name_the_file_not_the_secret(tmp_path: Path,
                                                           content: str) -> None:
    bad = tmp_path / "bad"
    bad.write_text(content)
    with pytest.raises(RegistryError) as caught:
        read_credentials(RegistryConfig("r:5000", "r:5000", str(bad)))
    assert str(bad) in caught.value.message
    assert "hunter2" not in caught.value.message


def test_push_progress_counts_layers_and_bytes() -> None:
    progress = PushProgress("r:5000/app:1")
    progress.feed({"status": "The push refers to repository [r:5000/app]"})
    progress.feed({"status": "Preparing", "id": "aaa", "progressDetail": {}})
    progress.feed({"status": "Preparing", "id": "bbb", "progressDetail": {}})
    status = progress.feed({"status": "Pushing", "id": "aaa",
                            "progressDetail": {"current": 512, "total": 2048}})
    assert describe(status) == "pushing r:5000/app:1: 0/2 layers, 512 B of 2 KiB"
    progress.feed({"status": "Mounted from library/base", "id": "bbb"})
    status = progress.feed({"status": "Pushed", "id": "aaa", "progressDetail": {}})
    assert (status.done, status.layers, status.downloaded) == (2, 2, 2048)
