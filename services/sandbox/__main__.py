"""``python -m services.sandbox``: run the sandbox provider in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from services.sandbox.config import add_sandbox_arguments, config_from_args
from services.sandbox.server import run_sandbox


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the sandbox options and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m services.sandbox",
        description="Serve the sandbox provider (OpenAI, Anthropic and Gemini wire formats).",
    )
    add_sandbox_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    run_sandbox(config, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
