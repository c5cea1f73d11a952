"""The ``unmask`` command: a thin dispatcher.

Each package registers its own subcommands (``puzzles.cli``, ``models.cli``, ``sampling.cli``,
``viz.cli``); this module only builds the parser and turns user errors into one line on stderr
with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (package module, description) in the order they appear in --help.
_SUBCOMMAND_MODULES = ("puzzles.cli", "models.cli", "sampling.cli", "viz.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unmask",
        description=(
            "Solve Sudoku and mazes with masked diffusion models. Generate datasets, train a "
            "denoiser, solve with the EB-Sampler and its baselines, validate exactly, and animate "
            "the order in which cells are unmasked."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from puzzles.errors import UnmaskError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except UnmaskError as err:
        print(f"unmask {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unmask {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
