"""Copy the front-end files minga serves from node_modules (npm, pinned in
package-lock.json) into src/minga/web/static/vendor. Run by `make assets`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "minga" / "web" / "static" / "vendor"
FILES = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "htmx-ext-sse/dist/sse.min.js": "htmx-sse.min.js",
    "tus-js-client/dist/tus.min.js": "tus.min.js",
    "hls.js/dist/hls.light.min.js": "hls.light.min.js",
}


def main() -> int:
    modules = ROOT / "node_modules"
    TARGET.mkdir(parents=True, exist_ok=True)
    versions = {}
    for source, name in FILES.items():
        path = modules / source
        if not path.is_file():
            print(f"missing {path}: run `npm ci` first", file=sys.stderr)
            return 1
        # Drop source-map comments: the maps are not shipped (and the hashed
        # static storage would look for them).
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", text)
        (TARGET / name).write_text(text, encoding="utf-8")
        package = source.split("/dist/")[0]
        versions[name] = json.loads((modules / package / "package.json").read_text())["version"]
    (TARGET / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
