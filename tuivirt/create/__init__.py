"""Making guests: what a host offers (caps.py) and the specs a user fills in with the
definitions built from them (vm.py, lxc.py; container.py for Docker).

Pure: no daemon calls here. The session (session/creation.py, session/containers.py)
asks the host and runs the steps; the CLI (cli/create.py) and the UI build on both.
"""
