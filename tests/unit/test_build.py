"""The build log (dockerd's JSON events as lines) and the tag check, on recorded events:
what a user sees of a build, without a daemon."""

from __future__ import annotations

import pytest

from tuivirt.backends.docker_build import (
    FAILED_OUTPUT_LINES,
    MAX_LINE,
    BuildFailed,
    BuildLine,
    BuildLog,
    LineKind,
    check_tag,
)

# A classic-builder run as dockerd 20.10 sends it (RUN output chunked as written; its
# stderr wrapped in dockerd's own SGR 91 ... SGR 0).
RECORDED = [
    {"stream": "Step 1/3 : FROM tiny\n"},
    {"stream": " ---> eb7a663bf450\n"},
    {"stream": "Step 2/3 : RUN make\n"},
    {"stream": " ---> Using cache\n"},
    {"stream": " ---> 10b4ab254a19\n"},
    {"stream": "Step 3/3 : RUN ./test\n"},
    {"stream": " ---> Running in f98b0f8ada49\n"},
    {"stream": "compil"},
    {"stream": "ing\ndone\n"},
    {"stream": "\x1b[91mwarning: x\n"},
    {"stream": "\x1b[0m"},
    {"stream": "Removing intermediate container f98b0f8ada49\n"},
    {"errorDetail": {"code": 2, "message": "The command '/bin/sh -c ./test' returned a "
                     "non-zero code: 2"},
     "error": "The command '/bin/sh -c ./test' returned a non-zero code: 2"},
]


def run(events: list[dict[str, object]]) -> tuple[list[BuildLine], BuildLog]:
    lines: list[BuildLine] = []
    log = BuildLog(lines.append)
    for event in events:
        log.feed(event)
    log.flush()
    return lines, log


def test_a_failed_step_is_named_with_its_output_and_lines_are_sorted_by_kind() -> None:
    lines: list[BuildLine] = []
    log = BuildLog(lines.append)
    with pytest.raises(BuildFailed) as failed:
        for event in RECORDED:
            log.feed(event)
    assert failed.value.step == "Step 3/3 : RUN ./test"
    assert failed.value.output == ("compiling", "done", "warning: x")
    assert failed.value.message.endswith("returned a non-zero code: 2")
    assert failed.value.describe().splitlines() == [
        "build failed at Step 3/3 : RUN ./test: The command '/bin/sh -c ./test' returned "
        "a non-zero code: 2",
        "last output of the step (3 lines):", "  compiling", "  done", "  warning: x"]
    kinds = [(line.kind, line.text) for line in lines]
    assert kinds[:5] == [(LineKind.STEP, "Step 1/3 : FROM tiny"),
                         (LineKind.INFO, " ---> eb7a663bf450"),
                         (LineKind.STEP, "Step 2/3 : RUN make"),
                         (LineKind.CACHE, " ---> Using cache"),
                         (LineKind.INFO, " ---> 10b4ab254a19")]
    assert (LineKind.OUTPUT, "compiling") in kinds
    assert (LineKind.INFO, "Removing intermediate container f98b0f8ada49") in kinds
    assert kinds[-1][0] is LineKind.ERROR
    assert log.steps == 3 and log.cached == 1


def test_the_image_id_and_hostile_output_made_inert() -> None:
    lines, log = run([
        {"stream": "Step 1/1 : RUN x\n"},
        {"stream": "a\x1b]52;c;cHduZWQ=\x07b\x1b[2Jc\u202ed\x9be\tf\n"},
        {"stream": "50%\r100%\r\n"},
        {"status": "Pulling from library/tiny", "id": "latest"},
        {"status": "Downloading", "id": "abc", "progressDetail": {"current": 1}},
        {"aux": {"ID": "sha256:" + "ab" * 32}},
        {"stream": "Successfully built abababababab\n"},
    ])
    texts = [line.text for line in lines]
    assert "a\\x1b]52;c;cHduZWQ=\\x07b\\x1b[2Jc\\u202ed\\x9be\\tf" in texts
    assert "100%" in texts  # a bar redrawn in place: its last state
    assert "latest: Pulling from library/tiny" in texts
    assert not any("Downloading" in text for text in texts)  # progress bars are not lines
    assert log.image_id == "sha256:" + "ab" * 32
    for text in texts:
        assert text.isprintable()


def test_memory_is_bounded_by_the_kept_output_and_the_longest_line() -> None:
    lines, log = run([{"stream": "Step 1/1 : RUN yes\n"},
                      *[{"stream": f"line {n}\n"} for n in range(1000)],
                      {"stream": "x" * (MAX_LINE * 3) + "\n"},
                      {"stream": "y" * (MAX_LINE * 3)}])  # no newline: ends at flush
    assert len(log.step_output) == FAILED_OUTPUT_LINES
    assert lines[-2].text == "x" * MAX_LINE + "…"
    assert lines[-1].text == "y" * MAX_LINE + "…"


@pytest.mark.parametrize(("typed", "tag"), [
    ("project/webserver:1.0", "project/webserver:1.0"),
    ("tiny", "tiny:latest"),
    ("localhost:5000/team/web:v2", "localhost:5000/team/web:v2"),
    ("10.77.0.2:5000/web", "10.77.0.2:5000/web:latest"),
    ("a__b-c.d/e:1_2.3-4", "a__b-c.d/e:1_2.3-4"),
])
def test_good_tags(typed: str, tag: str) -> None:
    assert check_tag(typed) == (tag, None)


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "a tag is needed"),
    ("Project/Web:1.0", "not a valid REPO:TAG (a repository name is lowercase)"),
    ("web:", "the tag after ':' takes letters"),
    ("web:1:2", "not a valid REPO:TAG"),
    ("web:é", "the tag after ':' takes letters"),
    ("a//b", "not a valid REPO:TAG"),
    ("-web", "not a valid REPO:TAG"),
    ("web@sha256:" + "0" * 64, "a digest (@) names an image"),
    ("web\x1b[2J:1", "tag web\\x1b[2J:1: not a valid"),  # said inert
])
def test_bad_tags_say_why(typed: str, problem: str) -> None:
    _tag, said = check_tag(typed)
    assert said is not None and problem in said
