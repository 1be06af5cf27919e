"""The enrichment agent (alias research): firmographics, technologies and intent for an account."""
