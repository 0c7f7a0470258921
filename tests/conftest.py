"""Shared pytest setup: makes helpers in tests/ (corpora_path, ...) importable from subfolders."""
