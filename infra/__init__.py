"""Infrastructure: settings, database, Temporal connection, mail and signed links."""
