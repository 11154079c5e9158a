#!/bin/sh
# Install Backprop Playground for the current user (no root needed):
#   ./install.sh              copy the app to ~/.local/opt/backprop-playground, add the launcher
#                             ~/.local/bin/backprop-playground and the menu entry and icons
#   ./install.sh --uninstall  remove all of that again (also: ~/.local/opt/backprop-playground/install.sh --uninstall)
# PREFIX (default ~/.local) and XDG_DATA_HOME (default ~/.local/share) are honoured.
set -eu
NAME=backprop-playground
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
DEST=$PREFIX/opt/$NAME
BIN=$PREFIX/bin/$NAME

if [ "${1:-}" = "--uninstall" ]; then
  if [ -x "$DEST/$NAME" ]; then "$DEST/$NAME" --uninstall-desktop; fi
  rm -rf "$DEST"
  rm -f "$BIN"
  echo "removed $DEST and $BIN"
  exit 0
fi
if [ -n "${1:-}" ]; then
  echo "usage: $0 [--uninstall]" >&2
  exit 2
fi

[ -x "$HERE/app/$NAME" ] || { echo "error: $HERE/app/$NAME is missing" >&2; exit 1; }
mkdir -p "$PREFIX/opt" "$PREFIX/bin"
rm -rf "$DEST.new"
cp -a "$HERE/app" "$DEST.new"
cp "$HERE/install.sh" "$DEST.new/install.sh"  # so that "$DEST/install.sh --uninstall" works later
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
cat > "$BIN" <<LAUNCHER
#!/bin/sh
exec "$DEST/$NAME" "\$@"
LAUNCHER
chmod 755 "$BIN"
echo "installed $DEST"
echo "launcher  $BIN"
"$DEST/$NAME" --install-desktop
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "note: $PREFIX/bin is not on your PATH; start the app from the menu or with $BIN" ;;
esac
