"""SVG snapshot of the images view (`I`), fed a fixed set of images (no daemon): two
hosts, an image with two tags, a dangling one, one in use by three containers, a host
whose images are not listed."""

from __future__ import annotations

from typing import Any

from tests.ui.pilot import NOW, feed, fixed_app, fixed_config
from tuivirt.model import Image

MIB = 1024**2


def fixed_images() -> list[Image]:
    def image(host: str, n: int, tags: tuple[str, ...], size: int, age: float,
              used_by: tuple[str, ...] = ()) -> Image:
        return Image(host=host, id=f"sha256:{n:x}{n:x}" + "3f9c" * 15, tags=tags,
                     size=size, created=NOW - age, used_by=used_by)

    return [
        image("local", 1, ("nginx:1.27",), 188 * MIB, 86400 * 12, ("nginx",)),
        image("local", 2, ("redis:7",), 117 * MIB, 86400 * 30, ("redis",)),
        image("local", 3, ("10.77.0.2:5000/app:2", "app:2"), 64 * MIB, 3600 * 5,
              ("migrate-once", "worker-1", "worker-2", "worker-3")),
        image("local", 4, (), 61 * MIB, 86400 * 2),
        image("rack2", 5, ("project/webserver:1.0",), 9 * MIB, 600),
    ]


def test_images_view(snap_compare: Any) -> None:
    from tuivirt.ui.images.screen import ImagesScreen

    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.push_screen(ImagesScreen(
            fixed_config(), images=fixed_images(), autoload=False,
            errors={"prod": "lost keepalive timed out (host not answering)"}))
        await pilot.pause()
        await pilot.pause()
        screen = pilot.app.screen
        assert len(screen.rows) == 6, "the fixed images never reached the table"

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 20))
