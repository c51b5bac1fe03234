"""Command line: `python -m app.sandbox --host 127.0.0.1 --port 8001`."""

from __future__ import annotations

import argparse

from app.sandbox.config import SandboxConfig
from app.sandbox.server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.sandbox",
        description="Serve the LinkedIn sandbox (Marketing API and OAuth imitation).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="TCP port (default 8001)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    parser.add_argument(
        "--public-base-url",
        default=None,
        help="base URL put into upload URLs (default: the base URL of each request)",
    )
    args = parser.parse_args(argv)
    config = SandboxConfig(seed=args.seed, public_base_url=args.public_base_url)
    run(args.host, args.port, config)


if __name__ == "__main__":
    main()
