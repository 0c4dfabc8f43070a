"""Pure functions over recordings."""
