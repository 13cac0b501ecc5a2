"""The command palette's entries for the main screen (`:` or ctrl+p)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from tuivirt.actions import PAUSE_TOGGLE, Action

if TYPE_CHECKING:
    from tuivirt.ui.main_screen import MainScreen


def guest_commands(screen: MainScreen) -> Iterable[SystemCommand]:
    for action in Action:
        if action in (Action.SUSPEND, Action.RESUME):
            continue
        yield SystemCommand(f"Guest: {action}", f"{action} the marked guests, or the "
                            "one under the cursor", partial(screen.action_act, action))
    yield SystemCommand("Guest: pause / resume", "pause running guests, resume paused",
                        partial(screen.action_act, PAUSE_TOGGLE))
    yield SystemCommand("Guest: new", "a VM, an LXC container or a Docker container on "
                        "a host you choose (n)", screen.action_new_guest)
    yield SystemCommand("Guest: edit XML", "the definition in the editor pane (x)",
                        screen.action_edit)
    yield SystemCommand("Guest: edit XML in $EDITOR", "then review it in the pane (E)",
                        partial(screen.action_edit, True))
    yield SystemCommand("Guest: clone definition", "copy to a new name, here or on "
                        "another host (C)", screen.action_clone)
    yield SystemCommand("Import LXC native config", "convert /var/lib/lxc/NAME/config "
                        "with libvirt, review, define", screen.action_import_lxc)
    yield SystemCommand("Image: build", "an image from a Dockerfile directory on a host, "
                        "its log streamed", partial(_open_build, screen))
    yield SystemCommand("Networks", "every host's libvirt networks (N)",
                        screen.action_networks)
    yield SystemCommand("Storage", "every host's storage pools and their volumes (P)",
                        screen.action_storage)
    yield SystemCommand("Images", "every host's Docker images: pull, push, tag, remove, "
                        "prune, run, build (I)", screen.action_images)
    yield SystemCommand("Table: filter", "filter rows (/)", screen.action_filter)
    yield SystemCommand("Table: clear marks", "unmark every guest",
                        screen.action_clear_marks)
    yield SystemCommand("Table: group by host / tag", "cycle grouping: host, tag, none (H)",
                        screen.action_group)
    yield SystemCommand("Table: next sort column", "cycle sort (o)",
                        screen.action_sort_next)
    yield SystemCommand("Hosts: show / hide panel", "host states (h)",
                        screen.action_hosts)
    yield SystemCommand("Help: keys", "every key (?)", screen.action_help)




def _open_build(screen: MainScreen) -> None:
    from tuivirt.ui.images.build import open_build  # imported when first used

    open_build(screen)
