"""Service layer: the one place every front door (CLI, web console) calls to act."""
