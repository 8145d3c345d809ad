"""Web front doors: the decision-link server and its ops endpoints."""
