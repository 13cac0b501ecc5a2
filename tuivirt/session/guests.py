"""Lifecycle actions and lookups on one host's guests."""

from __future__ import annotations

from tuivirt.actions import Action
from tuivirt.errors import (
    ActionTimedOut,
    EndpointHung,
)
from tuivirt.model import Guest
from tuivirt.session.core import SessionCore


class Guests(SessionCore):
    """Actions and lookups, each on the guest's own endpoint."""

    def perform(self, guest: Guest, action: Action | str,
                enable: bool = True) -> Guest | None:
        """Run one lifecycle action; returns the guest's new record (None if it is gone)."""
        action = Action(action)
        self._check_writable(action.describe(guest.name, enable), guest.name)
        endpoint = self._endpoint_for(guest)
        try:
            endpoint.perform(guest, action, enable)
        except EndpointHung as exc:
            if exc.pending is None:  # refused before it was sent: nothing will happen
                raise
            raise ActionTimedOut(self.name, guest.name, action, self.timeout,
                                 exc.pending) from None
        fresh = endpoint.lookup(guest.id)
        if fresh is None:
            self.inventory.remove_id(self.name, guest.id)
        else:
            self.inventory.upsert(fresh)
        return fresh

    def lookup(self, guest: Guest) -> Guest | None:
        """The guest's record now, from its daemon; None when it is gone."""
        return self._endpoint_for(guest).lookup(guest.id)

    def dumpxml(self, guest: Guest, *, inactive: bool = False) -> str:
        return self._endpoint_for(guest).dumpxml(guest, inactive=inactive)
