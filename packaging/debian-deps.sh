#!/usr/bin/env bash
# Installs the Debian/Ubuntu system libraries Backprop Playground needs (Qt offscreen and X11,
# fonts, Xvfb for tests). Installs only what is missing; does nothing on other systems.
# As root it installs; as another user it uses sudo; without sudo it prints the one command to
# run as root (on stdout, so `su -c "$(packaging/debian-deps.sh)"` works) and exits 1.
set -euo pipefail
PKGS=(
  # Qt offscreen platform
  libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libx11-6 libxkbcommon0
  fonts-dejavu-core
  # Qt X11 (xcb) platform
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0
  # a virtual display for tests and screenshots under X; XTEST presses real keys in it
  # (tests/ui/test_x11_keys.py)
  xvfb xauth libxtst6
  # python3 -m venv on Debian's own Python
  python3-venv
  # validators for the .desktop file and AppStream metainfo (tests/test_packaging.py)
  desktop-file-utils appstream
)
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "debian-deps.sh: ${#missing[@]} system package(s) are missing and installing them" \
         "needs root (there is no sudo here). Run this as root, then run this script again:" >&2
    echo "apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
