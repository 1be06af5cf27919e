"""The lead_source agent: companies matching a tenant's ideal customer profile, as accounts."""
