"""The contact_finder agent: decision makers at an account, from Apollo people search/match."""
