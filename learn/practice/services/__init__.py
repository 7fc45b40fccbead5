"""Writes of the practice app, one module per area; import from the modules themselves."""
