"""Agents: per-type configuration models and the agent management service."""
