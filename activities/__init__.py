"""Activities: classes whose instances hold their dependencies (sessions, mailer, gateways)."""
