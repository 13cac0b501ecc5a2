"""Docker images on the lab, through the real `tuivirt` command: tag on host A, push to
the lab's registry (hostb, 10.77.0.2:5000), pull on hostb with its progress on a
terminal, run a container from it; rm refused while in use, then typed or forced;
prune says what it frees before freeing it."""

from __future__ import annotations

import json
import os
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
REGISTRY = "10.77.0.2:5000"


class Captured(PtyRun):
    def __init__(self, argv: list[str]) -> None:
        self.text = b""
        super().__init__(argv)

    def received(self, data: bytes) -> None:
        self.text += data

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not re.search(pattern, self.text.decode("utf-8", "replace")):
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in {self.text!r}"
                self.cond.wait(left)
        return self.text.decode("utf-8", "replace")

    def finish(self, timeout: float = 120) -> str:
        self.proc.wait(timeout)
        time.sleep(0.1)  # the reader's last chunk
        return self.text.decode("utf-8", "replace")


def on_tty(config: Path, *args: str) -> Captured:
    return Captured([sys.executable, "-m", "tuivirt", "--config", str(config), *args])


@pytest.fixture()
def scratch(lab: Lab) -> Iterator[Callable[..., str]]:
    """Unique names of images and containers; whatever the test left is removed."""
    made: list[tuple[str, str, str]] = []  # (host, "image"|"container", name)

    def name(kind: str, host: str = "local", value: str | None = None) -> str:
        value = value or f"tvtest-img-{uuid.uuid4().hex[:8]}"
        made.append((host, kind, value))
        return value

    yield name
    for host, kind, value in reversed(made):
        if kind == "container":
            lab.docker(host, "rm", "-f", value, check=False)
    for host, kind, value in made:
        if kind == "image":
            for line in lab.docker(host, "images", "--format", "{{.Repository}}:{{.Tag}}",
                                   check=False).split():
                if value in line:
                    lab.docker(host, "rmi", "-f", line, check=False)


def build(lab: Lab, host: str, tag: str) -> str:
    """A new image (its own id, one tag) from the lab's base image; its id."""
    url = lab.hostb_docker if host == "hostb" else "unix:///var/run/docker.sock"
    subprocess.run(["docker", "-H", url, "build", "-q", "-t", tag, "-"], check=True,
                   input=f"FROM tiny:latest\nLABEL tvtest={uuid.uuid4().hex}\n", text=True,
                   capture_output=True, timeout=120)
    return lab.docker(host, "image", "inspect", "-f", "{{.Id}}", tag).strip()


def test_tag_push_pull_with_progress_and_run_on_the_other_host(
        lab: Lab, lab_config: Path, scratch: Callable[..., str]) -> None:
    local_name = scratch("image")
    build(lab, "local", f"{local_name}:1")
    repository = scratch("image")
    scratch("image", "hostb", repository)  # the pulled one
    remote = f"{REGISTRY}/{repository}:1"

    proc = run_cli("image", "tag", "local", f"{local_name}:1", remote, config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert remote in proc.stdout
    proc = run_cli("image", "push", "local", remote, config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"local: pushed {remote}" in proc.stdout
    assert proc.stderr == ""  # no progress when stderr is not a terminal

    run = on_tty(lab_config, "image", "pull", "hostb", remote)
    text = run.finish()
    assert run.proc.returncode == 0, text
    # the progress line, drawn in place on the terminal before the result
    assert re.search(rf"pulling {re.escape(remote)}: (\d+/\d+ layers|.)", text), text
    assert text.index("pulling") < text.index(f"hostb: pulled {remote}")
    assert remote in lab.docker("hostb", "images", "--format", "{{.Repository}}:{{.Tag}}")

    listing = run_cli("images", "hostb", config=lab_config)
    assert listing.returncode == 0, listing.stderr
    assert re.search(rf"^hostb\s+{re.escape(remote)}\s+[0-9a-f]{{12}}\s", listing.stdout, re.M)

    container = scratch("container", "hostb")
    proc = run_cli("create", "container", "hostb", container, "--image", remote, "--cmd",
                   "sleep 600", "--start", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert lab.docker("hostb", "inspect", "-f", "{{.State.Running}}", container).strip() \
        == "true"
    used = run_cli("images", "--json", "hostb", config=lab_config)
    rows = [r for r in json.loads(used.stdout) if remote in r["tags"]]
    assert rows and rows[0]["used_by"] == [container], used.stdout


def test_pushing_an_image_the_host_lacks_is_refused_by_name(
        lab: Lab, lab_config: Path, scratch: Callable[..., str]) -> None:
    ref = f"{REGISTRY}/{scratch('image')}:1"
    proc = run_cli("image", "push", "local", ref, config=lab_config)
    assert proc.returncode == 2
    assert f"local/{ref}: no such image on local" in proc.stderr


def test_rm_refused_while_in_use_then_typed_and_forced(
        lab: Lab, lab_config: Path, scratch: Callable[..., str]) -> None:
    tag = f"{scratch('image')}:1"
    build(lab, "local", tag)
    container = scratch("container")
    lab.docker("local", "create", "--name", container, "--network", "none", tag, "true")

    proc = run_cli("image", "rm", "local", tag, "--yes", config=lab_config)
    assert proc.returncode == 1
    assert f"in use by 1 container(s): {container}" in proc.stderr
    assert tag in lab.docker("local", "images", "--format", "{{.Repository}}:{{.Tag}}")

    # --force asks for the name on a terminal: a wrong one changes nothing
    run = on_tty(lab_config, "image", "rm", "local", tag, "--force")
    run.wait_for(r"type the name")
    run.send(b"nope\r")
    text = run.finish()
    assert run.proc.returncode == 1 and "cancelled; nothing was changed" in text
    assert tag in lab.docker("local", "images", "--format", "{{.Repository}}:{{.Tag}}")

    run = on_tty(lab_config, "image", "rm", "local", tag, "--force")
    run.wait_for(r"type the name")
    run.send(tag.encode() + b"\r")
    text = run.finish()
    assert run.proc.returncode == 0, text
    assert f"local: untagged {tag}" in text
    assert tag not in lab.docker("local", "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert container in lab.docker("local", "ps", "-a", "--format", "{{.Names}}")


def test_prune_says_what_it_frees_before_freeing_it(
        lab: Lab, lab_config: Path, scratch: Callable[..., str]) -> None:
    tag = f"{scratch('image')}:1"
    old = build(lab, "local", tag)
    build(lab, "local", tag)  # the tag moves on: the first image is dangling now
    short = old.removeprefix("sha256:")[:12]

    proc = run_cli("image", "prune", "local", config=lab_config)  # no terminal, no --yes
    assert proc.returncode == 2
    assert re.search(r"local: \d+ dangling image\(s\), up to [0-9.]+ \w+ would be freed",
                     proc.stdout), proc.stdout
    assert f"local/{short} (" in proc.stderr and "pass --yes" in proc.stderr
    assert lab.docker("local", "image", "inspect", old, check=False)  # still there

    proc = run_cli("image", "prune", "local", "--yes", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"local: pruned \d+ image\(s\), [0-9.]+ \w+ freed", proc.stdout)
    assert subprocess.run(["docker", "image", "inspect", old], capture_output=True,
                          check=False).returncode != 0


def test_read_only_host_refuses_image_changes(lab: Lab, tmp_path: Path,
                                              state_home: Path) -> None:
    config = tmp_path / "ro.toml"
    config.write_text(lab.config_text(hostb_read_only=True))
    for args in (("image", "rm", "hostb", "tiny", "--yes"), ("image", "prune", "hostb"),
                 ("image", "pull", "hostb", f"{REGISTRY}/x:1"),
                 ("image", "tag", "hostb", "tiny", "tvtest-ro:1")):
        proc = run_cli(*args, config=config)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "host hostb is read-only: refusing to" in proc.stderr, proc.stderr
    assert "tvtest-ro" not in lab.docker("hostb", "images")


def test_images_lists_both_hosts_and_says_which_is_down(
        lab: Lab, tmp_path: Path, state_home: Path) -> None:
    config = tmp_path / "down.toml"
    config.write_text(lab.config_text() + '\n[[host]]\nname = "gone"\n'
                      'docker = "unix:///nonexistent/docker.sock"\n')
    proc = run_cli("images", config=config)
    assert proc.returncode == 1
    hosts = {line.split()[0] for line in proc.stdout.splitlines()[1:]}
    assert hosts == {"local", "hostb"}
    assert "host gone:" in proc.stderr and "its images are not listed" in proc.stderr
    assert os.path.exists(lab.dir / "hostb" / "registry.yml")


def test_push_logs_in_with_the_configured_credentials_file(
        lab: Lab, tmp_path: Path, state_home: Path, scratch: Callable[..., str]) -> None:
    creds = tmp_path / "registry.creds"
    config = tmp_path / "reg.toml"
    config.write_text(lab.config_text() + f'\n[[registry]]\nurl = "http://{REGISTRY}"\n'
                      f'credentials = "{creds}"\n')
    ref = f"{REGISTRY}/{scratch('image')}:1"
    lab.docker("local", "tag", "tiny:latest", ref)
    creds.write_text("hunter2-without-a-user\n")
    proc = run_cli("image", "push", "local", ref, config=config)
    assert proc.returncode == 1
    assert f"credentials file {creds}: its first line is not user:password" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout
    creds.write_text("tv:secret\n")  # the lab's registry takes any login
    proc = run_cli("image", "push", "local", ref, config=config)
    assert proc.returncode == 0, proc.stderr
    assert f"local: pushed {ref}" in proc.stdout


ARTICLE_DOCKERFILE = """FROM tiny
RUN mkdir -p /srv/www && echo "built here" > /srv/www/stamp
ENV GREETING=hello-from-the-article
ADD index.html /srv/www/index.html
CMD ["sh", "-c", "echo $GREETING; cat /srv/www/index.html /srv/www/stamp; sleep 600"]
"""


def test_the_articles_journey_build_push_pull_run_and_its_logs(
        lab: Lab, lab_config: Path, scratch: Callable[..., str], tmp_path: Path) -> None:
    """Issue 14 end to end, as the article walks it: an image built from a Dockerfile on
    one host, pushed to the organisation's registry, pulled on the other with progress,
    a container run from it there with the image's own command, and its logs read."""
    repository = scratch("image")
    scratch("image", "hostb", repository)
    ref = f"{REGISTRY}/{repository}:1.0"
    context = tmp_path / "webserver"
    context.mkdir()
    (context / "Dockerfile").write_text(ARTICLE_DOCKERFILE)
    (context / "index.html").write_text("<h1>the article's page</h1>\n")

    built = run_cli("build", "local", str(context), "-t", ref, config=lab_config)
    assert built.returncode == 0, built.stderr
    assert "Step 4/5 : ADD index.html /srv/www/index.html" in built.stdout, built.stdout
    pushed = run_cli("image", "push", "local", ref, config=lab_config)
    assert pushed.returncode == 0, pushed.stderr

    run = on_tty(lab_config, "image", "pull", "hostb", ref)
    text = run.finish()
    assert run.proc.returncode == 0, text
    assert text.index(f"pulling {ref}") < text.index(f"hostb: pulled {ref}"), text

    container = scratch("container", "hostb")
    made = run_cli("create", "container", "hostb", container, "--image", ref, "--start",
                   config=lab_config)
    assert made.returncode == 0, made.stderr
    deadline = time.monotonic() + 30
    while True:
        logs = run_cli("logs", f"hostb/{container}", config=lab_config, timeout=60)
        assert logs.returncode == 0, logs.stderr
        if "built here" in logs.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert logs.stdout.splitlines()[:3] == [
        "hello-from-the-article", "<h1>the article's page</h1>", "built here"], logs.stdout
