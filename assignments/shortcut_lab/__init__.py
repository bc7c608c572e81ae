"""The shortcut-learning lab notebooks (ungraded)."""
