"""The sandbox provider: a real HTTP server speaking the OpenAI, Anthropic and Gemini wire
formats on one port.

It backs the embedded demo, the tests and the benchmarks, with configurable latency, faults
and rate limits (switchable while it runs), so the real client code is always the code under
test.
"""

from services.sandbox.app import create_sandbox_app
from services.sandbox.config import SandboxConfig, add_sandbox_arguments, config_from_args
from services.sandbox.server import (
    SandboxHandle,
    run_sandbox,
    sandbox_base_url,
    start_sandbox_in_thread,
)

__all__ = [
    "SandboxConfig",
    "SandboxHandle",
    "add_sandbox_arguments",
    "config_from_args",
    "create_sandbox_app",
    "run_sandbox",
    "sandbox_base_url",
    "start_sandbox_in_thread",
]
