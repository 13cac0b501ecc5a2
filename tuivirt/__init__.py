"""tuivirt: one console for every VM and container on every host."""

__version__ = "0.1.0"
