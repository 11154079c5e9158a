#!/usr/bin/env bash
# Build the one-folder Linux bundle and its tarball:
#   dist/backprop-playground-<version>-linux-x86_64.tar.gz
# holding backprop-playground-<version>/{app/, share/, install.sh, README.md}.
#
# Usage: packaging/build.sh            (uses $PYTHON, else .venv/bin/python, else python3)
# The Python used must have the app's dependencies and PyInstaller: pip install ".[build]".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
read -r NAME VERSION < <("$PYTHON" -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(p["name"], p["version"])')
ARCH=$(uname -m)
STEM="$NAME-$VERSION-linux-$ARCH"
WORK=packaging/build
STAGE="$WORK/stage/$STEM"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$WORK/dist" --workpath "$WORK/pyinstaller" packaging/playground.spec

rm -rf "$WORK/stage"
mkdir -p "$STAGE/share/applications" "$STAGE/share/metainfo" dist
cp -a "$WORK/dist/$NAME" "$STAGE/app"
APP_ID=io.github.backprop_playground.BackpropPlayground
# the desktop files as a distribution would install them (install.sh writes user copies)
sed -e "s|^Exec=.*|Exec=$NAME %f|" "resources/desktop/$APP_ID.desktop" > "$STAGE/share/applications/$APP_ID.desktop"
cp "resources/desktop/$APP_ID.metainfo.xml" "$STAGE/share/metainfo/"
mkdir -p "$STAGE/share/icons/hicolor/scalable/apps"
cp resources/icons/backprop-playground.svg "$STAGE/share/icons/hicolor/scalable/apps/$APP_ID.svg"
for png in resources/icons/hicolor/*/apps/backprop-playground.png; do
  size=$(basename "$(dirname "$(dirname "$png")")")
  mkdir -p "$STAGE/share/icons/hicolor/$size/apps"
  cp "$png" "$STAGE/share/icons/hicolor/$size/apps/$APP_ID.png"
done
install -m 755 packaging/install.sh "$STAGE/install.sh"
cp packaging/BUNDLE-README.md "$STAGE/README.md"

TARBALL="dist/$STEM.tar.gz"
tar -C "$WORK/stage" -czf "$TARBALL" "$STEM"
end=$(date +%s)
echo "bundle: $WORK/dist/$NAME ($(du -sh "$WORK/dist/$NAME" | cut -f1)), $(find "$WORK/dist/$NAME" -type f | wc -l) files"
echo "tarball: $TARBALL ($(du -h "$TARBALL" | cut -f1)), built in $((end - start)) s"
