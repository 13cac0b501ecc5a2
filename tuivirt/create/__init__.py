"""Making guests (issue 13): what a host offers (caps.py) and a VM's definition (vm.py).

Pure: no daemon calls here. The session (session/creation.py) asks the host for its
capabilities and runs the steps; the CLI (cli/create.py) and the UI build on both.
"""
