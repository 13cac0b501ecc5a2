"""The lifecycle actions: what each one is, what it means for Docker, what needs
confirming and what a read-only host refuses. One place, used by the CLI and the UI.

No Textual, no libvirt import here: `tuivirt list` imports the CLI, which imports this.
"""

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import NamedTuple

from tuivirt.config import HostConfig
from tuivirt.errors import read_only_refusal, unknown_host
from tuivirt.model import Guest, GuestState

#: The UI's `p`: suspend a running guest, resume a paused one (resolved per guest).
PAUSE_TOGGLE = "pause"


# Records are NamedTuples with real (not postponed: each string annotation costs a
# compile()) annotations: this module is on the path of `tuivirt list`, and five records
# take 1.9 ms to create as dataclasses, 0.3 ms as NamedTuples.
class _Words(NamedTuple):
    doing: str  # shown in the table while the action is in flight
    done: str  # past tense, for outcome lines
    help: str  # the CLI subcommand's help
    docker: str  # the Docker API client's method (each takes the container id)
    destructive: bool = False  # always confirmed, naming every target
    title: str = ""  # the confirmation's verb when it is not the action's own


class Action(StrEnum):
    """A lifecycle action on one guest, in the CLI's words."""

    START = "start"
    SHUTDOWN = "shutdown"
    REBOOT = "reboot"
    DESTROY = "destroy"
    SUSPEND = "suspend"
    RESUME = "resume"
    AUTOSTART = "autostart"
    UNDEFINE = "undefine"

    @property
    def doing(self) -> str:
        return _WORDS[self].doing

    @property
    def done(self) -> str:
        return _WORDS[self].done

    @property
    def help(self) -> str:
        return _WORDS[self].help

    @property
    def docker(self) -> str:
        return _WORDS[self].docker

    @property
    def destructive(self) -> bool:
        return _WORDS[self].destructive

    @property
    def typed(self) -> bool:
        """The confirmation wants the guest's name typed (nothing brings it back)."""
        return self is Action.UNDEFINE

    def outcome(self, enable: bool = True) -> str:
        """What an outcome line says once it worked ("started", "autostart off")."""
        if self is Action.AUTOSTART:
            return f"autostart {'on' if enable else 'off'}"
        return self.done

    def describe(self, name: str, enable: bool = True) -> str:
        """The change in words, for "refusing to ..." ("start web", "turn autostart on
        for web")."""
        if self is Action.AUTOSTART:
            return f"turn autostart {'on' if enable else 'off'} for {name}"
        return f"{self.value} {name}"


_WORDS: dict[Action, _Words] = {
    Action.START: _Words("starting", "started", "start guests", "start"),
    Action.SHUTDOWN: _Words("shutting down", "shutdown requested",
                            "ask guests to shut down (ACPI / docker stop)", "stop"),
    Action.REBOOT: _Words("rebooting", "reboot requested", "reboot guests (docker restart)",
                          "restart"),
    Action.DESTROY: _Words("destroying", "destroyed (forced off)",
                           "force guests off (docker kill)", "kill", destructive=True,
                           title="Destroy (force off)"),
    Action.SUSPEND: _Words("pausing", "suspended", "pause guests", "pause"),
    Action.RESUME: _Words("resuming", "resumed", "resume paused guests", "unpause"),
    # Docker's autostart is a restart policy (unless-stopped, or none): see its backend.
    Action.AUTOSTART: _Words("setting autostart", "autostart set",
                             "turn autostart on (or off with --disable)", "update_container"),
    Action.UNDEFINE: _Words("undefining", "undefined", "remove a guest's definition (docker rm)",
                            "remove_container", destructive=True, title="Undefine / remove"),
}


class Step(NamedTuple):
    """One action on one guest, as it will be sent."""

    address: str  # the shortest address naming the guest (what the user reads)
    guest: Guest
    action: Action
    enable: bool = True  # autostart on or off

    @property
    def what(self) -> str:
        return self.action.describe(self.guest.name, self.enable)

    @property
    def target(self) -> str:
        """The guest as a confirmation names it: address, kind and state."""
        return f"{self.address} ({self.guest.kind}, {self.guest.state})"

    @property
    def detail(self) -> str:
        """The target and the action it gets (a toggle may differ from guest to guest)."""
        on = f" {'on' if self.enable else 'off'}" if self.action is Action.AUTOSTART else ""
        return (f"{self.address}  ({self.guest.kind}, {self.guest.state})  "
                f"→ {self.action.value}{on}")


class Refusal(NamedTuple):
    step: Step
    reason: str


class Confirmation(NamedTuple):
    title: str  # "Destroy (force off) 2 guests?"
    verb: str  # the confirm button's word
    targets: tuple[str, ...]  # address (kind, state), one per step
    details: tuple[str, ...]  # the same with the action each one gets
    typed: str | None = None  # to be typed before it runs (undefine)


class Plan(NamedTuple):
    request: str  # an Action's value, or PAUSE_TOGGLE
    steps: tuple[Step, ...]
    refused: tuple[Refusal, ...]
    confirm: Confirmation | None


def resolve(request: str, guest: Guest, enable: bool | None = None) -> tuple[Action, bool]:
    """The action a request means for this guest: the pause toggle per its state; with
    enable None, autostart flips the guest's setting."""
    if request == PAUSE_TOGGLE:
        return (Action.RESUME if guest.state == GuestState.PAUSED else Action.SUSPEND), True
    action = Action(request)
    if action is Action.AUTOSTART and enable is None:
        return action, not guest.autostart
    return action, True if enable is None else enable


def plan(request: str, targets: Iterable[tuple[str, Guest]], hosts: Sequence[HostConfig],
         *, enable: bool | None = None, confirm_many: bool = False) -> Plan:
    """Targets (address, guest) -> the steps to run, what is refused and why, and the
    confirmation needed first (None: run at once).

    A destructive action is always confirmed; with confirm_many (the UI, where marks can
    gather more guests than one meant) so is any action on more than one guest.
    """
    by_name = {h.name: h for h in hosts}
    steps: list[Step] = []
    refused: list[Refusal] = []
    for address, guest in targets:
        action, on = resolve(request, guest, enable)
        step = Step(address, guest, action, on)
        host = by_name.get(guest.host)
        if host is None:
            refused.append(Refusal(step, unknown_host(guest.host, by_name)))
        elif host.read_only:
            refused.append(Refusal(step, read_only_refusal(guest.host, step.what)))
        else:
            steps.append(step)
    return Plan(request, tuple(steps), tuple(refused), _confirmation(request, steps,
                                                                     confirm_many))


def _confirmation(request: str, steps: list[Step], confirm_many: bool) -> Confirmation | None:
    if not steps:
        return None
    action = None if request == PAUSE_TOGGLE else Action(request)
    destructive = action is not None and action.destructive
    if not destructive and not (confirm_many and len(steps) > 1):
        return None
    typed = None
    if action is not None and action.typed:
        typed = steps[0].guest.name if len(steps) == 1 else f"{len(steps)} guests"
    verb = (_WORDS[action].title if action is not None else "") or request.capitalize()
    title = f"{verb} {len(steps)} guest{'s' if len(steps) > 1 else ''}?"
    return Confirmation(title, verb.split()[0], tuple(s.target for s in steps),
                        tuple(s.detail for s in steps), typed)
