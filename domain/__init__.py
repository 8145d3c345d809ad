"""Pydantic payloads and pure business rules. No I/O: safe inside the workflow sandbox."""
