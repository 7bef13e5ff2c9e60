"""Copy the console's front-end assets from ``node_modules`` (``npm ci`` in services/console,
versions fixed by the committed package-lock.json) into ``static/vendor`` (git-ignored):
``python -m console.assets``. ``make setup`` runs it after ``npm ci``; the app serves the copies
itself, so no page loads anything from outside the platform."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SERVICE_ROOT = PACKAGE.parents[1]  # services/console
VENDOR = PACKAGE / "static" / "vendor"

#: (source under node_modules, destination under static/vendor); a directory is copied whole.
FILES = [
    ("nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css", "nhsuk/nhsuk-frontend.min.css"),
    ("nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js", "nhsuk/nhsuk-frontend.min.js"),
    ("nhsuk-frontend/dist/nhsuk/assets", "nhsuk/assets"),
    ("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"),
    ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    (
        "swagger-ui-dist/swagger-ui-standalone-preset.js",
        "swagger-ui/swagger-ui-standalone-preset.js",
    ),
    ("swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("axe-core/axe.min.js", "axe-core/axe.min.js"),  # for the browser tests' accessibility runs
    # the therapist's charts (diary card week, alliance line): a small ES module, no build step
    ("uplot/dist/uPlot.esm.js", "uplot/uPlot.esm.js"),
    ("uplot/dist/uPlot.min.css", "uplot/uPlot.min.css"),
]


# The design system's CSS names its images from the site root (/assets/...) and its fonts on
# the NHS's own host: the images are served beside the CSS instead, and the font faces are
# dropped (the CSS falls back to Arial), so the page asks nothing of any other host.
_EXTERNAL_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*https?://[^}]*\}")


def localise_css(css: str) -> str:
    """The design system's CSS with every url() on this platform."""
    return _EXTERNAL_FONT_FACE.sub("", css).replace("url(/assets/", "url(assets/")


def copy(node_modules: Path = SERVICE_ROOT / "node_modules", vendor: Path = VENDOR) -> list[Path]:
    """Copy every file of ``FILES``; raise FileNotFoundError naming the first one missing."""
    copied = []
    for source, destination in FILES:
        src, dst = node_modules / source, vendor / destination
        if not src.exists():
            raise FileNotFoundError(f"{src} missing: run `npm ci` in {SERVICE_ROOT}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif dst.suffix == ".css" and "nhsuk" in source:
            dst.write_text(localise_css(src.read_text()))
        else:
            shutil.copyfile(src, dst)
        copied.append(dst)
    return copied


def main() -> int:
    try:
        copied = copy()
    except FileNotFoundError as exc:
        sys.stderr.write(f"console assets: {exc}\n")
        return 1
    sys.stdout.write(f"console assets: {len(copied)} copied into {VENDOR}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
