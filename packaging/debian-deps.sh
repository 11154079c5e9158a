#!/usr/bin/env bash
# Installs the Debian/Ubuntu system libraries Backprop Playground needs (Qt offscreen and X11,
# fonts, Xvfb for tests). Installs only what is missing; does nothing on other systems.
set -euo pipefail
PKGS=(
  # Qt offscreen platform
  libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libx11-6 libxkbcommon0
  fonts-dejavu-core
  # Qt X11 (xcb) platform
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0
  # a virtual display for tests and screenshots under X
  xvfb xauth
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
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
