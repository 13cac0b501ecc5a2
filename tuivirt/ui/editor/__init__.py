"""The XML editor pane, the screens that host it, and `tuivirt edit`'s app."""
