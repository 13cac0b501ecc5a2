"""Thin, blocking, typed wrappers over libvirt-python, the Docker SDK and asyncssh.

No Textual imports here: the CLI's fast path must not pay for the UI.
"""
