"""Starters: the ``partnerflow`` CLI, the link server / web console, and the dev stack."""
