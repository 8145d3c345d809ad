"""The embedded dev stack: its supervisor and the Temporal Schedules it applies."""
