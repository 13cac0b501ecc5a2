"""New guests (`n`): a VM, an LXC container, a Docker container, from one place."""
