"""Consoles: the pane and its tabs, the terminal widget, our VT screen, the fast path
and the app of `tuivirt console`."""
