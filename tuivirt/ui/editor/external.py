"""$VISUAL/$EDITOR on a buffer, the app suspended meanwhile."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import Any

from tuivirt import xmltools


def edit_externally(app: Any, text: str, suffix: str = ".xml") -> str | None:
    """Run $VISUAL/$EDITOR on the text (the app suspended); None when it failed, or
    when the result is too big for the editor (the file is then kept, and said)."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, path = tempfile.mkstemp(prefix="tuivirt-", suffix=suffix)
    keep = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        try:
            with app.suspend():
                status = subprocess.call([*shlex.split(command), path])
        except Exception as exc:  # no terminal to suspend to (a test), a missing editor
            app.notify(f"$EDITOR ({command}) could not run: {exc}", severity="error")
            return None
        if status != 0:
            app.notify(f"$EDITOR ({command}) exited with {status}: buffer unchanged",
                       severity="warning")
            return None
        # The size before a byte is read: a 50 MB file froze the UI for 20 s at 1 GB RSS.
        problem = xmltools.size_problem(os.stat(path).st_size, "$EDITOR's result")
        if problem is not None:
            keep = True
            app.notify(f"not loaded: {problem}. The buffer is unchanged; the file is "
                       f"kept: {path}", severity="error", timeout=15)
            return None
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    finally:
        if not keep:
            os.unlink(path)
