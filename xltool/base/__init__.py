"""Helpers every stage uses: typed errors, atomic file writes, text safety."""
