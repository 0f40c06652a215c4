"""aidflow scenario language and library."""
