"""`tuivirt build` on both lab hosts: the article's kind of image (FROM the lab's `tiny`,
RUN, ENV, ADD, CMD) built from a directory ON that host (hostb's lives in its private
/run, which this machine cannot see: the context can only have come over SSH), then a
container run from it prints the ENV and the ADDed file. A failing RUN step is named
with its output; hostile build output never reaches the terminal raw; a build is
cancelled on the daemon too; refusals come before anything runs.

Images are tvtest/build-<hex>; removed afterwards, with their containers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli
from tests.ptyrun import PtyRun

pytestmark = pytest.mark.lab

HOSTS = ["local", "hostb"]

ARTICLE = """FROM tiny
RUN mkdir -p /srv/www && echo "built on $(hostname)" > /srv/www/stamp
ENV GREETING=hello-from-env
ADD index.html /srv/www/index.html
CMD ["sh", "-c", "echo $GREETING; cat /srv/www/index.html"]
"""
INDEX = "<h1>added by ADD</h1>\n"
FAILING = """FROM tiny
RUN echo first step
RUN echo about to fail; echo 'went wrong' >&2; exit 7
CMD ["true"]
"""
# OSC 52 (clipboard), OSC 2 (title), CSI 2J (clear screen), a bidi override, a C1 CSI.
HOSTILE_OUT = r"printf 'a\033]52;c;cHduZWQ=\007b\033]2;title\007c\033[2Jd\342\200\256e\302\233f\n'"
HOSTILE = f"FROM tiny\nRUN {HOSTILE_OUT}\nCMD [\"true\"]\n"
RAW = ("\x1b]52", "\x1b]2;", "\x1b[2J", "\u202e", "\x9b")


class Recorder(PtyRun):
    """A command on a pty; every byte it wrote to the terminal."""

    def __init__(self, argv: list[str]) -> None:
        self.data = bytearray()
        super().__init__(argv)

    def received(self, data: bytes) -> None:
        self.data += data


class Contexts:
    """Context directories on a lab host: local ones under tmp_path, hostb's in its
    private /run; tags and the containers run from them, all removed afterwards."""

    def __init__(self, lab: Lab, tmp_path: Path) -> None:
        self.lab = lab
        self.tmp_path = tmp_path
        self.remote: list[str] = []
        self.tags: list[tuple[str, str]] = []
        self.containers: list[tuple[str, str]] = []

    def make(self, host: str, files: dict[str, str]) -> str:
        name = f"tvtest-build-{uuid.uuid4().hex[:8]}"
        if host == "local":
            directory = self.tmp_path / name
            directory.mkdir()
            for file, text in files.items():
                (directory / file).write_text(text)
            return str(directory)
        directory_text = f"/run/{name}"
        script = f"mkdir {directory_text} && cd {directory_text} && tar -xf -"
        tarball = self.tmp_path / f"{name}.tar"
        staging = self.tmp_path / f"{name}-staging"
        staging.mkdir()
        for file, text in files.items():
            (staging / file).write_text(text)
        subprocess.run(["tar", "-C", str(staging), "-cf", str(tarball), "."], check=True)
        with tarball.open("rb") as handle:
            subprocess.run([*self.lab.hostb_prefix(), "sh", "-c", script], stdin=handle,
                           check=True, timeout=30)
        assert not os.path.exists(directory_text)  # not visible here: hostb's own /run
        self.remote.append(directory_text)
        return directory_text

    def tag(self, host: str) -> str:
        tag = f"tvtest/build-{uuid.uuid4().hex[:8]}:1.0"
        self.tags.append((host, tag))
        return tag

    def run(self, host: str, image: str) -> str:
        name = f"tvtest-build-{uuid.uuid4().hex[:8]}"
        self.containers.append((host, name))
        self.lab.docker(host, "run", "--name", name, "--network", "none", image)
        return self.lab.docker(host, "logs", name)

    def cleanup(self) -> None:
        for host, name in self.containers:
            self.lab.docker(host, "rm", "-f", name, check=False)
        for host, tag in self.tags:
            self.lab.docker(host, "rmi", "-f", tag, check=False)
        for directory in self.remote:
            subprocess.run([*self.lab.hostb_prefix(), "rm", "-rf", directory], check=False)


@pytest.fixture()
def contexts(lab: Lab, tmp_path: Path) -> Iterator[Contexts]:
    made = Contexts(lab, tmp_path)
    yield made
    made.cleanup()


@pytest.mark.parametrize("host", HOSTS)
def test_build_the_articles_image_on_the_host_and_run_it(
        lab: Lab, lab_config: Path, contexts: Contexts, host: str) -> None:
    directory = contexts.make(host, {"Dockerfile": ARTICLE, "index.html": INDEX})
    tag = contexts.tag(host)
    began = time.monotonic()
    proc = run_cli("build", host, directory, "-t", tag, "--no-cache", config=lab_config)
    took = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("Step ")] == [
        "Step 1/5 : FROM tiny",
        'Step 2/5 : RUN mkdir -p /srv/www && echo "built on $(hostname)" > /srv/www/stamp',
        "Step 3/5 : ENV GREETING=hello-from-env",
        "Step 4/5 : ADD index.html /srv/www/index.html",
        'Step 5/5 : CMD ["sh", "-c", "echo $GREETING; cat /srv/www/index.html"]']
    image_id = lines[-1]
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert f"{host}: built {tag} (5 steps, 0 from the cache" in proc.stderr
    # The tag is on that host's daemon, and names the id printed.
    assert lab.docker(host, "image", "inspect", "-f", "{{.Id}}", tag).strip() == image_id
    assert contexts.run(host, tag) == f"hello-from-env\n{INDEX}"

    # Again: every step from the cache, the same image.
    again = run_cli("build", host, directory, "-t", tag, config=lab_config)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" ---> Using cache") == 4
    assert again.stdout.splitlines()[-1] == image_id
    print(f"{host}: build of 5 steps took {took:.2f} s (a new process, connect included)")


@pytest.mark.parametrize("host", HOSTS)
def test_a_failing_run_step_is_named_with_its_output(
        lab: Lab, lab_config: Path, contexts: Contexts, host: str) -> None:
    directory = contexts.make(host, {"Dockerfile": FAILING})
    tag = contexts.tag(host)
    proc = run_cli("build", host, directory, "-t", tag, config=lab_config)
    assert proc.returncode == 1
    step = "Step 3/4 : RUN echo about to fail; echo 'went wrong' >&2; exit 7"
    assert (f"tuivirt: {host}: build failed at {step}: The command '/bin/sh -c echo about "
            "to fail; echo 'went wrong' >&2; exit 7' returned a non-zero code: 7"
            in proc.stderr), proc.stderr
    # (stdout and stderr reach dockerd on pipes of their own: in either order)
    tail = proc.stderr.split("last output of the step (2 lines):\n", 1)[1]
    assert sorted(tail.splitlines()) == ["  about to fail", "  went wrong"]
    assert "\x1b" not in proc.stderr + proc.stdout  # dockerd's own red markers dropped
    assert lab.docker(host, "images", "-q", tag) == ""  # nothing tagged
    # No intermediate container left behind (forcerm).
    assert "about to fail" not in lab.docker(host, "ps", "-a", "--no-trunc")


@pytest.mark.parametrize("host", HOSTS)
def test_hostile_build_output_never_reaches_the_terminal_raw(
        lab: Lab, lab_config: Path, contexts: Contexts, host: str) -> None:
    directory = contexts.make(host, {"Dockerfile": HOSTILE})
    tag = contexts.tag(host)
    proc = run_cli("build", host, directory, "-t", tag, config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert not any(raw in proc.stdout + proc.stderr for raw in RAW)
    assert "a\\x1b]52;c;cHduZWQ=\\x07b\\x1b]2;title\\x07c\\x1b[2Jd\\u202ee\\x9bf" \
        in proc.stdout

    # On a terminal: steps bold, and still nothing of the build's own escapes.
    term = Recorder([sys.executable, "-m", "tuivirt", "--config", str(lab_config),
                     "build", host, directory, "-t", tag])
    try:
        assert term.proc.wait(60) == 0
        time.sleep(0.2)
        with term.cond:
            out = bytes(term.data).decode("utf-8", "replace")
    finally:
        term.close()
    assert "\x1b[1mStep 2/3 : RUN printf" in out
    assert not any(raw in out for raw in RAW)


def test_refused_before_anything_runs(lab: Lab, lab_config: Path, contexts: Contexts,
                                      tmp_path: Path) -> None:
    empty = contexts.make("local", {"README": "no Dockerfile here\n"})
    proc = run_cli("build", "local", empty, "-t", "tvtest/x:1", config=lab_config)
    assert (proc.returncode, proc.stderr) == (
        1, f"tuivirt: local: no Dockerfile in {empty} on local\n")
    missing = tmp_path / "nowhere"
    proc = run_cli("build", "hostb", str(missing), "-t", "tvtest/x:1", config=lab_config)
    assert (proc.returncode, proc.stderr) == (
        1, f"tuivirt: hostb: no directory {missing} on hostb\n")
    proc = run_cli("build", "local", empty, "-t", "Project/Web:1.0", config=lab_config)
    assert proc.returncode == 2
    assert "not a valid REPO:TAG (a repository name is lowercase)" in proc.stderr

    read_only = tmp_path / "ro.toml"
    read_only.write_text(lab.config_text(hostb_read_only=True))
    good = contexts.make("hostb", {"Dockerfile": ARTICLE, "index.html": INDEX})
    proc = run_cli("build", "hostb", good, "-t", "tvtest/x:1", config=read_only)
    assert proc.returncode == 1
    assert "host hostb is read-only: refusing to build tvtest/x:1" in proc.stderr


@pytest.mark.parametrize("host", HOSTS)
def test_a_cancelled_build_stops_on_the_daemon(
        lab: Lab, lab_config: Path, contexts: Contexts, host: str) -> None:
    from tuivirt.backends.docker_build import BuildCancelled
    from tuivirt.config import load_config
    from tuivirt.session import Fleet

    marker = f"tvslow{uuid.uuid4().hex[:6]}"
    directory = contexts.make(host, {"Dockerfile": f"FROM tiny\nRUN echo {marker}; "
                                     "sleep 60\n"})
    tag = contexts.tag(host)
    fleet = Fleet(load_config(str(lab_config)))
    lines: list[str] = []
    builds: list[Callable[[], None]] = []
    try:
        assert fleet.connect([host]) == {}
        session = fleet.session(host)

        def cancel_when_running() -> None:
            end = time.monotonic() + 30
            while marker not in lines and time.monotonic() < end:
                time.sleep(0.05)
            builds[0]()

        threading.Thread(target=cancel_when_running, daemon=True).start()
        began = time.monotonic()
        with pytest.raises(BuildCancelled):
            session.build_image(directory, tag, on_line=lambda line: lines.append(line.text),
                                on_build=lambda build: builds.append(build.cancel))
        took = time.monotonic() - began
    finally:
        fleet.close()
    assert marker in lines and took < 30
    # dockerd stopped the step and removed its container: nothing runs `sleep 60` on.
    end = time.monotonic() + 15
    while marker in lab.docker(host, "ps", "-a", "--no-trunc") and time.monotonic() < end:
        time.sleep(0.2)
    assert marker not in lab.docker(host, "ps", "-a", "--no-trunc")
    assert lab.docker(host, "images", "-q", tag) == ""


def test_a_large_context_on_hostb_streams_in_bounded_memory(
        lab: Lab, lab_config: Path, contexts: Contexts) -> None:
    """128 MiB of context read over SSH: tuivirt's memory does not grow with it."""
    directory = contexts.make("hostb", {"Dockerfile": 'FROM tiny\nCMD ["true"]\n'})
    subprocess.run([*lab.hostb_prefix(), "sh", "-c",
                    f"head -c {128 << 20} /dev/urandom > {directory}/blob"], check=True)
    tag = contexts.tag("hostb")
    # The peak RSS of the tuivirt process alone, measured by a parent of its own.
    measure = ("import resource, subprocess, sys; "
               "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN)"
               ".ru_maxrss // 1024); print(proc.stderr, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "tuivirt",
                           "--config", str(lab_config), "build", "hostb", directory,
                           "-t", tag], capture_output=True, text=True, timeout=120)
    status, rss_mb = map(int, proc.stdout.split())
    assert status == 0, proc.stderr
    # ~75 MB (imports, libvirt, asyncssh, the Docker SDK); reading tar's output over SSH
    # in 64 KiB pieces held the context in asyncssh's buffers: ~180 MB.
    assert rss_mb < 120, rss_mb
    print(f"hostb: 128 MiB context, tuivirt build peak RSS {rss_mb} MB")
