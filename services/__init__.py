"""agentfleet services: the HTTP API, the sandbox provider and the command line."""
