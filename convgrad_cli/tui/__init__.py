"""The terminal app of `convgrad explore` (Textual, imported by that command only)."""
