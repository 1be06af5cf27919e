"""``python -m shared.contract``: write the AsyncAPI document, or ``--check`` that it is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.contract.asyncapi import asyncapi_source_path, render_asyncapi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.contract",
        description="Generate the AsyncAPI document of the broker contract.",
    )
    parser.add_argument(
        "--output", type=Path, default=asyncapi_source_path(), help="where to write it"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the file differs from what would be generated",
    )
    args = parser.parse_args(argv)
    document = render_asyncapi()
    output: Path = args.output
    if args.check:
        current = output.read_text() if output.exists() else None
        if current != document:
            print(f"{output} is out of date: run python -m shared.contract", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.write_text(document)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
