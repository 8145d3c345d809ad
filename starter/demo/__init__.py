"""Demo data loaders (partnerflow demo ...)."""
