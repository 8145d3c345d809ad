"""CSV/JSON importers (partnerflow import ...): the registry and the kinds."""
