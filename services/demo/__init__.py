"""The embedded demo: the whole pipeline on one machine with no external services."""
