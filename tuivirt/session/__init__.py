"""Host sessions: one per configured host (HostSession), and the Fleet of them."""

from tuivirt.session.endpoints import REMOTE_LIBVIRT_SOCKET, tunnel_uri
from tuivirt.session.fleet import Fleet
from tuivirt.session.host import HostSession

__all__ = ["REMOTE_LIBVIRT_SOCKET", "Fleet", "HostSession", "tunnel_uri"]
