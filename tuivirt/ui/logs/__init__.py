"""A guest's log in a pane beside the table (`l`): docker logs, or its hypervisor log."""
