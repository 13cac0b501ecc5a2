"""The libvirt forward's opening filter: it answers the keepalive question itself and
passes everything else on, byte for byte and in order (the lab test is
tests/integration/test_libvirt_relay_lab.py)."""

from __future__ import annotations

import struct

from tuivirt.backends.libvirt_relay import (
    CALL,
    FEATURE_PROGRAM_KEEPALIVE,
    HEADER,
    PROC_AUTH_LIST,
    PROC_CONNECT_OPEN,
    PROC_SUPPORTS_FEATURE,
    REMOTE_PROGRAM,
    REPLY,
    Opening,
)

PROC_AUTH_SASL_INIT = 67
FEATURE_REMOTE_EVENT_CALLBACK = 14


def frame(proc: int, kind: int = CALL, serial: int = 0, payload: bytes = b"",
          program: int = REMOTE_PROGRAM) -> bytes:
    return HEADER.pack(HEADER.size + len(payload), program, 1, proc, kind, serial, 0) + payload


def question(feature: int, serial: int) -> bytes:
    return frame(PROC_SUPPORTS_FEATURE, serial=serial, payload=struct.pack(">i", feature))


AUTH_CALL = frame(PROC_AUTH_LIST, serial=0)
AUTH_REPLY = frame(PROC_AUTH_LIST, REPLY, serial=0, payload=struct.pack(">ii", 1, 0))
KEEPALIVE_QUESTION = question(FEATURE_PROGRAM_KEEPALIVE, serial=1)
OPEN_CALL = frame(PROC_CONNECT_OPEN, serial=2, payload=b"\0\0\0\1\0\0\0\4qemu" + bytes(4))


def run(opening: Opening, steps: list[tuple[str, bytes]], chunk: int = 0
        ) -> tuple[bytes, bytes]:
    """Feed each side's bytes (chunk > 0: that many bytes at a time); all that came out
    for (the daemon, the client)."""
    to_daemon, to_client = bytearray(), bytearray()
    for side, data in steps:
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
        for piece in pieces:
            out = opening.client_sent(piece) if side == "client" else opening.daemon_sent(piece)
            to_daemon += out[0]
            to_client += out[1]
    return bytes(to_daemon), bytes(to_client)


def test_the_keepalive_question_is_answered_no_and_never_reaches_the_daemon() -> None:
    for chunk in (0, 1, 5):
        opening = Opening()
        to_daemon, to_client = run(opening, [
            ("client", AUTH_CALL), ("daemon", AUTH_REPLY), ("client", KEEPALIVE_QUESTION),
            ("client", OPEN_CALL)], chunk)
        assert to_daemon == AUTH_CALL + OPEN_CALL, chunk
        answer = to_client[len(AUTH_REPLY):]
        assert to_client.startswith(AUTH_REPLY)
        # the reply to that very call (same serial and version), status OK, "0": no
        assert answer == HEADER.pack(32, REMOTE_PROGRAM, 1, PROC_SUPPORTS_FEATURE, REPLY, 1,
                                     0) + struct.pack(">i", 0)
        assert opening.declined == 1 and opening.piping


def test_other_questions_go_to_the_daemon() -> None:
    opening = Opening()
    other = question(FEATURE_REMOTE_EVENT_CALLBACK, serial=1)
    to_daemon, to_client = run(opening, [("client", other)])
    assert (to_daemon, to_client, opening.declined) == (other, b"", 0)


def test_after_connect_open_everything_passes_untouched() -> None:
    opening = Opening()
    run(opening, [("client", OPEN_CALL)])
    assert opening.piping
    later = KEEPALIVE_QUESTION + b"\xff" * 3  # even what looks like the question
    assert opening.client_sent(later) == (later, b"")
    assert opening.daemon_sent(b"\x00\x01") == (b"", b"\x00\x01")
    assert opening.declined == 0


def test_sasl_makes_it_a_pipe_at_once() -> None:
    """SASL's security layer may wrap every later frame: nothing after it is read."""
    opening = Opening()
    sasl = frame(PROC_AUTH_SASL_INIT, serial=1)
    to_daemon, _ = run(opening, [("client", sasl), ("client", KEEPALIVE_QUESTION)])
    assert to_daemon == sasl + KEEPALIVE_QUESTION and opening.declined == 0


def test_bytes_that_are_not_libvirt_frames_pass_in_order() -> None:
    """A daemon that speaks something else: what was held goes out first, then the rest."""
    opening = Opening()
    junk = b"\x00\x00\x00\x30" + b"\x12\x34\x56\x78" + b"junk"  # not libvirt's program
    to_daemon, to_client = run(opening, [
        ("daemon", AUTH_REPLY), ("client", KEEPALIVE_QUESTION[:6]), ("daemon", junk)])
    assert to_client == AUTH_REPLY + junk
    assert to_daemon == KEEPALIVE_QUESTION[:6]  # held, then let go unchanged
    assert opening.client_sent(b"rest") == (b"rest", b"")
    # a length no frame of an opening has
    opening = Opening()
    huge = struct.pack(">I", 1 << 24) + b"x" * 10
    assert opening.client_sent(huge) == (huge, b"") and opening.piping


def test_a_question_out_of_turn_is_left_to_the_daemon() -> None:
    """Half a daemon frame received: the client did not wait for it, so the answer's
    place in the stream is not known. The daemon answers, as without this filter."""
    opening = Opening()
    to_daemon, to_client = run(opening, [
        ("daemon", AUTH_REPLY[:12]), ("client", KEEPALIVE_QUESTION),
        ("daemon", AUTH_REPLY[12:])])
    assert to_daemon == KEEPALIVE_QUESTION and to_client == AUTH_REPLY
    assert opening.declined == 0
