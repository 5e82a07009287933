"""The CLI's exit statuses, shared by every command."""

from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE"]

EXIT_OK = 0
"""Done."""
EXIT_REJECTED = 1
"""The input was refused, or the work did not do what it should (the reason is printed)."""
EXIT_USAGE = 2
"""The command was used wrongly (a missing or conflicting option, an unreadable file)."""
