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


class OneLineParser(argparse.ArgumentParser):
    """argparse with the project's promise for bad input: one line on stderr naming the flag
    (with a pointer to --help), exit code 2, instead of the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """The promise of one line per error: control characters (a newline in a file name) are
    written as escapes."""
    return "".join(c if c >= " " and c != "\x7f" else repr(c)[1:-1] for c in text)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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

    try:
        parser = build_parser()  # imports the task plugins: a broken one is the user's input
    except UnmaskError as err:
        print(f"unmask: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a one-line usage error (exit code 2)
        return int(stop.code or 0)
    try:
        rc = args.func(args)
    except UnmaskError as err:
        print(f"unmask {args.command}: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unmask {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # the file system said no (a full disk, a folder gone): the user's
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        print(f"unmask {args.command}: error: {one_line(where + (err.strerror or str(err)))}",
              file=sys.stderr)  # fmt: skip
        return 2
    except MemoryError:
        print(f"unmask {args.command}: error: out of memory; ask for less (a smaller "
              "--batch-size, --count or size)", file=sys.stderr)  # fmt: skip
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
