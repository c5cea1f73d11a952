"""PNG screenshot of an unmask HTML page (``viz.html``) in headless Chromium, for docs/README.

    python scripts/screenshot.py view.html view.png [--click SELECTOR ...] [--key End ...]
                                 [--hover SELECTOR] [--width 1200] [--height 860]

Clicks run first, in order, then the keys, then the hover. Needs Chromium and playwright
(``apt-get install chromium chromium-driver``; ``pip install playwright``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from viz.browser import missing, screenshot  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--click", action="append", default=[], help="CSS selector to click")
    parser.add_argument("--key", action="append", default=[], help="key to press (End, ArrowLeft)")
    parser.add_argument("--hover", help="CSS selector to hover last")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args(argv)
    why = missing()
    if why:
        print(f"screenshot: {why}", file=sys.stderr)
        return 2
    if not args.html.is_file():
        print(f"screenshot: {args.html} is not a file", file=sys.stderr)
        return 2
    out = screenshot(args.html, args.png, clicks=args.click, keys=args.key, hover=args.hover,
                     width=args.width, height=args.height)  # fmt: skip
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
