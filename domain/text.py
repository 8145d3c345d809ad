"""Marking English texts that reach emails, so that ``pybabel extract`` collects them.

Workflows and domain code store these texts as they are (workflow histories do not change);
the email templates translate them for the reader with the ``term`` filter.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """``message`` unchanged; marked for the catalogs (locales/)."""
    return message
