"""HostSession: one configured host, assembled from its parts.

Each responsibility lives in its own module (connection.py: the state machine;
endpoints.py: opening, health and reopening of each endpoint; stats.py; guests.py:
actions; definitions.py; consoles.py; facts.py; storage.py: pools and volumes;
creation.py: new VMs, over definitions and storage; containers.py: making LXC and
Docker containers; builds.py: Docker images from a context directory; images.py: Docker
images; logs.py: guests' logs, and container stats for the upkeep that connection.py
runs), all on the shared state of core.SessionCore. A session owns what it opens (SSH
tunnel, endpoints, consoles) and closes all of it on teardown.
"""

from __future__ import annotations

from tuivirt.session.builds import Builds
from tuivirt.session.connection import Connection
from tuivirt.session.consoles import Consoles
from tuivirt.session.containers import Containers
from tuivirt.session.creation import Creation
from tuivirt.session.definitions import Definitions
from tuivirt.session.facts import Facts
from tuivirt.session.guests import Guests
from tuivirt.session.images import Images
from tuivirt.session.storage import Storage


class HostSession(Connection, Guests, Creation, Definitions, Consoles, Facts, Storage,
                  Builds, Containers, Images):
    """One configured host: connection state, endpoints, actions, definitions, consoles.

    Each endpoint (a libvirt URI, the Docker URL) lives on its own: one that fails, hangs
    or is killed is marked down (its rows stale), closed, and opened again with backoff
    while the others go on; the host is lost only when its SSH link is, or when no
    endpoint is left. Every daemon call is bounded by the host's timeout (Deadline).
    """
