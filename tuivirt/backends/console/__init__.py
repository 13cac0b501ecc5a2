"""Console transports: a guest's console as a byte stream, whatever carries it.

- libvirt.py: virDomainOpenConsole on a non-blocking stream, read on the libvirt
  event-loop thread (QEMU/KVM serial consoles, LXC consoles; locally or through the SSH
  tunnel);
- docker.py: attach to the container's TTY, or exec a shell in a new TTY when it has none;
- ssh.py: `virsh console` run on the host in a PTY, for hosts whose libvirt socket cannot
  be reached;
- transport.py: what every transport offers, and the thread its keys are written on.

Every transport writes into a ConsoleBuffer (buffer.py), a bounded byte queue: when the
UI falls behind (a burst of several MB), the transport stops reading and the guest's own
flow control holds the rest, so memory stays bounded and nothing is dropped.
"""
