"""Textual themes shipped with tuivirt (TOML files; packaged as tuivirt.themes)."""
