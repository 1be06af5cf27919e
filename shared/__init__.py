"""The project's shared package: settings, data model, contracts and infrastructure adapters."""
