"""`n`: a new guest. The kind, the host, the kind's form; then a VM or an LXC container
opens in the editor pane for review (ctrl+s makes it: the new volume, the define with
libvirt's validation, the start), a Docker container is made at once (its pull shown).

Every check that needs the host runs before the pane opens; what it refuses comes back in
the form with what was typed. The steps themselves (and their undoing) are the session's:
`create_vm(spec, xml=edited)`, `create_lxc(spec, xml=edited)`, `create_container`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tuivirt.model import Applied, DefinitionRef, Guest
from tuivirt.ui.common.workers import error_text
from tuivirt.ui.editor.host import EditorHost

if TYPE_CHECKING:
    from tuivirt.create.caps import HostOptions
    from tuivirt.create.container import ContainerSpec
    from tuivirt.create.lxc import LXCSpec
    from tuivirt.create.vm import VMSpec
    from tuivirt.session.host import HostSession
    from tuivirt.ui.common.dialogs import Field
    from tuivirt.ui.create import forms


# The forms, their dialogs and the specs (lxml) are imported when `n` is first pressed:
# not at startup.
VM, LXC, DOCKER = "vm", "lxc", "docker"
OFFER_MAX_AGE = 30.0  # s: pools and networks listed this recently are shown from memory
WARM_MAX = 8  # hosts asked ahead what they offer a new VM (more: the chosen one, after)
KINDS = {VM: "VM (QEMU/KVM, any architecture the host offers)",
         LXC: "LXC system container from a directory on the host",
         DOCKER: "Docker container from an image"}


class NewGuest(EditorHost):
    """Mixed into the main screen (the editor pane's host, with the guest table)."""

    def select_guest(self, guest: Guest, *, focus: bool = True) -> None:
        """Put the table's cursor on `guest` once its row shows."""
        raise NotImplementedError

    # -- kind and host ------------------------------------------------------------------
    def hosts_for(self, kind: str) -> tuple[str, ...]:
        """The writable hosts that offer `kind` (a VM: a libvirt URI that is not LXC)."""
        def offers(uris: tuple[str, ...], docker: str | None) -> bool:
            if kind == DOCKER:
                return bool(docker)
            lxc = [u.startswith("lxc") for u in uris]
            return any(lxc) if kind == LXC else not all(lxc)

        return tuple(h.name for h in self.config.hosts
                     if not h.read_only and offers(h.libvirt, h.docker))

    def action_new_guest(self) -> None:
        from tuivirt.ui.common.dialogs import ChoiceScreen

        self.app.push_screen(ChoiceScreen("New guest: what kind?", list(KINDS.items())),
                             self._kind_chosen)

    def _kind_chosen(self, kind: str | None) -> None:
        from tuivirt.ui.common.dialogs import ChoiceScreen

        if kind is None:
            return
        hosts = self.hosts_for(kind)
        if not hosts:
            self.notify(f"no writable host offers a new {kind_words(kind)} (read-only "
                        "hosts refuse every change)", severity="error", timeout=8)
            return
        if len(hosts) == 1:
            self._host_chosen(kind, hosts[0])
            return
        if kind == VM and len(hosts) <= WARM_MAX:
            # While the user picks the host, ask each what it offers: the form then opens
            # from memory (issue 13: <= 100 ms after the key). Not for a whole fleet:
            # a hundred hosts' pools listed on every `n` for one form.
            for host in hosts:
                self.in_thread(partial(self._session(host).vm_offer, max_age=0.0),
                               lambda _offer: None, what=f"{host}: cannot ask what it offers",
                               group=f"new-guest-warm-{host}", exclusive=True,
                               failed=lambda _error: None)
        self.app.push_screen(
            ChoiceScreen(f"New {kind_words(kind)}: on which host?",
                         [(h, h) for h in hosts]),
            lambda host: self._host_chosen(kind, host) if host else None)

    def _host_chosen(self, kind: str, host: str) -> None:
        if kind == VM:
            self._vm_form(host)
        elif kind == LXC:
            self._lxc_form(host)
        else:
            self._container_form(host)

    def _session(self, host: str) -> HostSession:
        return self.fleet.session(host)

    def _form(self, title: str, fields: list[Field], note: str, ok: str,
              then: Callable[[dict[str, str]], None]) -> None:
        from tuivirt.ui.create.form_screen import NewGuestForm

        self.app.push_screen(NewGuestForm(title, fields, note=note, ok_label=ok),
                             lambda values: then(values) if values is not None else None)

    def _refused(self, message: str, again: Callable[[], None]) -> None:
        """Not made: said, and the form back with what was typed."""
        self.notify(f"not created: {message}", severity="error", timeout=10)
        again()

    # -- a VM -----------------------------------------------------------------------------
    def _vm_form(self, host: str, values: dict[str, str] | None = None) -> None:
        from tuivirt.ui.create import forms

        session = self._session(host)

        def offered() -> tuple[HostOptions, list[str], list[str]]:
            # Warmed when `n` was pressed (action_new_guest); a form opened again later
            # lists pools and networks anew.
            offer = session.vm_offer(max_age=OFFER_MAX_AGE)
            return offer.options, list(offer.pools), list(offer.networks)

        def show(found: tuple[HostOptions, list[str], list[str]]) -> None:
            options, pools, networks = found
            if not options.archs:
                self.notify(f"{host}: its libvirt offers no architecture for VMs",
                            severity="error", timeout=8)
                return
            self._form(f"New VM on {host}", forms.vm_fields(options, pools, values),
                       forms.vm_note(options, pools, networks), "Review the XML",
                       partial(self._vm_typed, host))

        remembered = session.remembered_offer(OFFER_MAX_AGE)
        if remembered is not None:  # warmed by `n`: no round trip, no worker thread
            show((remembered.options, list(remembered.pools), list(remembered.networks)))
            return
        self.in_thread(offered, show, what=f"{host}: cannot ask what it offers a new VM",
                       group="new-guest")

    def _vm_typed(self, host: str, values: dict[str, str]) -> None:
        from tuivirt.ui.create import forms

        again = partial(self._vm_form, host, values)
        parsed = forms.parse_vm(host, values)
        if isinstance(parsed, str):
            self._refused(parsed, again)
            return
        spec, choice = parsed
        session = self._session(host)
        self.in_thread(lambda: session.create_vm(spec, print_only=True),
                       lambda created: self._review_vm(spec, choice, created.xml,
                                                       created.notes),
                       what=f"{host}/{spec.name}: not created", group="new-guest",
                       failed=lambda error: self._refused(error_text(error), again))

    def _review_vm(self, spec: VMSpec, choice: forms.Choice, xml: str,
                   notes: tuple[str, ...]) -> None:
        from tuivirt.ui.create import forms

        session = self._session(spec.host)

        def define(text: str) -> Applied:
            created = session.create_vm(spec, start=choice.start, xml=text)
            assert created.guest is not None
            return defined(session, created.guest)

        self.open_new(DefinitionRef(spec.host, "domain", spec.name), xml,
                      forms.vm_review(spec, notes, choice.start), define=define,
                      define_note=forms.vm_review(spec, (), choice.start))

    # -- an LXC container -------------------------------------------------------------------
    def _lxc_form(self, host: str, values: dict[str, str] | None = None) -> None:
        from tuivirt.ui.create import forms

        self._form(f"New LXC container on {host}", forms.lxc_fields(values),
                   "The directory is checked on the host: it must hold the init. The "
                   "definition opens in the editor for review; ctrl+s defines it.",
                   "Review the XML", partial(self._lxc_typed, host))

    def _lxc_typed(self, host: str, values: dict[str, str]) -> None:
        from tuivirt.create.lxc import lxc_xml
        from tuivirt.ui.create import forms

        again = partial(self._lxc_form, host, values)
        parsed = forms.parse_lxc(host, values)
        if isinstance(parsed, str):
            self._refused(parsed, again)
            return
        spec, choice = parsed
        session = self._session(host)

        def check() -> str:
            session.check_lxc(spec)
            return lxc_xml(spec)

        self.in_thread(check, partial(self._review_lxc, spec, choice),
                       what=f"{host}/{spec.name}: not created", group="new-guest",
                       failed=lambda error: self._refused(error_text(error), again))

    def _review_lxc(self, spec: LXCSpec, choice: forms.Choice, xml: str) -> None:
        from tuivirt.ui.create import forms

        session = self._session(spec.host)

        def define(text: str) -> Applied:
            return defined(session, session.create_lxc(spec, start=choice.start, xml=text))

        review = forms.lxc_review(spec, choice.start)
        self.open_new(DefinitionRef(spec.host, "domain", spec.name), xml, review,
                      define=define, define_note=review)

    # -- a Docker container -------------------------------------------------------------------
    def new_container(self, host: str, image: str) -> None:
        """The new-container form on `host`, `image` filled in (the images view's `n`)."""
        self._container_form(host, {"image": image})

    def _container_form(self, host: str, values: dict[str, str] | None = None) -> None:
        from tuivirt.ui.create import forms

        self._form(f"New Docker container on {host}", forms.container_fields(values),
                   "Made at once (no XML); an image the host lacks is pulled first "
                   "(esc stops the pull).", "Create", partial(self._container_typed, host))

    def _container_typed(self, host: str, values: dict[str, str]) -> None:
        from tuivirt.ui.create import forms
        from tuivirt.ui.create.pull import PullScreen, PullWatch

        again = partial(self._container_form, host, values)
        parsed = forms.parse_container(host, values)
        if isinstance(parsed, str):
            self._refused(parsed, again)
            return
        spec, choice = parsed
        session = self._session(host)
        watch = PullWatch()
        progress = PullScreen(f"New container {host}/{spec.name} from {spec.image}", watch)
        self.app.push_screen(progress)

        def make() -> Guest:
            guest: Guest = session.create_container(
                spec, start=choice.start, on_progress=watch.progress, on_pull=watch.started)
            return guest

        def done(guest: Guest) -> None:
            progress.dismiss()
            self.notify(made_words(spec, guest, pulled=watch.pull is not None), timeout=8)
            self.select_guest(guest)

        def failed(error: BaseException) -> None:
            progress.dismiss()
            if watch.cancelled:
                self.notify(f"{host}/{spec.name}: {error_text(error)}", severity="warning",
                            timeout=8)
            else:
                self._refused(error_text(error), again)

        self.in_thread(make, done, what=f"{host}/{spec.name}: not created",
                       group="new-guest", failed=failed)


def defined(session: Any, guest: Guest) -> Applied:
    """What the editor pane shows once the guest is made: its definition as stored."""
    ref = DefinitionRef(guest.host, "domain", guest.name, guest.endpoint, guest.id)
    return Applied(ref=ref, xml=session.definition(ref), backup=None, guest=guest)


def made_words(spec: ContainerSpec, guest: Guest, *, pulled: bool) -> str:
    details = [f"image {guest.image or spec.image}"] + [f"port {p}" for p in spec.ports]
    details += [f"volume {v}" for v in spec.volumes]
    return (f"{guest.host}/{guest.name}: created (docker, {guest.state}; "
            f"{', '.join(details)}){'; the image was pulled' if pulled else ''}")


def kind_words(kind: str) -> str:
    return {VM: "VM", LXC: "LXC container", DOCKER: "Docker container"}[kind]
