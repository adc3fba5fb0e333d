"""Fixtures shared by several test files."""

from tests.launch_prefix import prefix  # noqa: F401  (the fake ament prefix of the launcher tests)
