"""Figures: axes in, axes out; matplotlib is imported only here."""
