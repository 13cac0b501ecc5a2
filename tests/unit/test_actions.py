"""The lifecycle actions in one place (issue 12, item 1): plan() decides what runs, what
is refused and what needs confirming, for the CLI and the UI alike; each backend has a
call for every action."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tuivirt.actions import PAUSE_TOGGLE, Action, plan
from tuivirt.backends.libvirt import guests as libvirt_guests
from tuivirt.config import Config, HostConfig
from tuivirt.errors import ReadOnlyError
from tuivirt.model import Guest, GuestState
from tuivirt.session import Fleet

HOSTS = (HostConfig(name="a", libvirt=("qemu:///system",)),
         HostConfig(name="ro", libvirt=("qemu:///system",), read_only=True))


def guest(host: str, name: str, state: GuestState = GuestState.RUNNING,
          autostart: bool | None = False, kind: str = "kvm") -> Guest:
    return Guest(host=host, kind=kind, name=name, id=f"{host}-{name}", state=state,
                 autostart=autostart)


def targets(*guests: Guest) -> list[tuple[str, Guest]]:
    return [(f"{g.host}/{g.name}", g) for g in guests]


def test_read_only_host_is_refused_with_the_reason_and_the_rest_runs() -> None:
    result = plan("start", targets(guest("a", "web"), guest("ro", "db")), HOSTS)
    assert [s.guest.name for s in result.steps] == ["web"]
    assert [(r.step.guest.name, r.reason) for r in result.refused] == [
        ("db", "host ro is read-only: refusing to start db")]
    # The session refuses in the very same words (one wording for both).
    assert ReadOnlyError("ro", "db", "start db").message == result.refused[0].reason


def test_a_host_missing_from_the_config_is_refused_not_run() -> None:
    result = plan("start", targets(guest("gone", "web")), HOSTS)
    assert not result.steps
    assert result.refused[0].reason == "unknown host 'gone' (configured: a, ro)"


def test_pause_toggles_per_guest() -> None:
    result = plan(PAUSE_TOGGLE, targets(guest("a", "up"),
                                        guest("a", "held", GuestState.PAUSED)), HOSTS)
    assert [(s.guest.name, s.action) for s in result.steps] == [
        ("up", Action.SUSPEND), ("held", Action.RESUME)]


def test_autostart_flips_each_guest_unless_told() -> None:
    both = targets(guest("a", "on", autostart=True), guest("a", "off", autostart=False))
    assert [s.enable for s in plan("autostart", both, HOSTS).steps] == [False, True]
    assert [s.enable for s in plan("autostart", both, HOSTS, enable=False).steps] == [
        False, False]
    step = plan("autostart", both[:1], HOSTS).steps[0]
    assert step.action.outcome(step.enable) == "autostart off"
    assert step.what == "turn autostart off for on"


def test_confirm_policy() -> None:
    one, two = targets(guest("a", "web")), targets(guest("a", "web"), guest("a", "db"))
    # Harmless on one guest: at once, in the CLI and the UI.
    assert plan("start", one, HOSTS, confirm_many=True).confirm is None
    # On several: the UI asks (marks gather more than one meant); a script does not.
    assert plan("start", two, HOSTS).confirm is None
    many = plan("start", two, HOSTS, confirm_many=True).confirm
    assert many is not None and many.title == "Start 2 guests?" and many.typed is None
    # Destructive: always, naming every target with its host, kind and state.
    destroy = plan("destroy", one, HOSTS).confirm
    assert destroy is not None
    assert destroy.title == "Destroy (force off) 1 guest?" and destroy.verb == "Destroy"
    assert destroy.targets == ("a/web (kvm, running)",)
    assert destroy.details == ("a/web  (kvm, running)  → destroy",)
    # Nothing left to run (all refused): nothing to confirm.
    assert plan("destroy", targets(guest("ro", "db")), HOSTS).confirm is None


def test_undefine_wants_the_name_typed() -> None:
    one = plan("undefine", targets(guest("a", "web")), HOSTS).confirm
    assert one is not None and one.typed == "web" and one.verb == "Undefine"
    two = plan("undefine", targets(guest("a", "web"), guest("a", "db")), HOSTS).confirm
    assert two is not None and two.typed == "2 guests"


def test_unknown_request_is_an_error() -> None:
    with pytest.raises(ValueError):
        plan("explode", targets(guest("a", "web")), HOSTS)


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_a_docker_call_and_a_libvirt_call(action: Action) -> None:
    assert callable(getattr(docker.APIClient, action.docker))
    assert action in libvirt_guests._DOMAIN_CALLS
    assert action.doing and action.done and action.help


def test_every_action_runs_through_the_session_on_the_test_driver(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text("""<node><domain type='test'><name>t1</name>
      <uuid>6d3c0f3a-0000-4000-8000-000000000001</uuid>
      <memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <os><type arch='x86_64'>hvm</type></os></domain></node>""")
    fleet = Fleet(Config(hosts=(HostConfig(name="t", libvirt=(f"test://{node}",)),)))
    try:
        assert not fleet.connect()
        session = fleet.session("t")
        expected = [(Action.SUSPEND, GuestState.PAUSED), (Action.RESUME, GuestState.RUNNING),
                    (Action.REBOOT, GuestState.RUNNING), (Action.DESTROY, GuestState.SHUTOFF),
                    (Action.START, GuestState.RUNNING), (Action.SHUTDOWN, GuestState.SHUTOFF)]
        for action, state in expected:
            (current,) = fleet.inventory.guests("t")
            fresh = session.perform(current, action)
            assert fresh is not None and fresh.state == state, action
        fresh = session.perform(fresh, Action.AUTOSTART, True)
        assert fresh is not None and fresh.autostart
        fresh = session.perform(fresh, "autostart", False)  # the CLI's word works too
        assert fresh is not None and not fresh.autostart
        assert session.perform(fresh, Action.UNDEFINE) is None
        assert not fleet.inventory.guests("t")
    finally:
        fleet.close()
