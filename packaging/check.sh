#!/usr/bin/env bash
# The packaging checks CI runs after the test suite (.ci/run), also handy by hand:
#   1. sdist + wheel; the wheel holds playground/_resources
#   2. the wheel in a fresh virtual environment, run from outside the checkout:
#      --version, the CLI on a bundled example, --smoke, --install-desktop/--uninstall-desktop
#   3. the PyInstaller bundle (packaging/build.sh) and its tarball
#   4. the bundle: --smoke offscreen and on X11 under Xvfb, the CLI on the digits data,
#      install.sh / install.sh --uninstall into a scratch HOME
#   5. start-up figures (tests/benchmarks/startup.py)
# Needs .venv with the app installed (the README's test command makes it) and the Debian packages
# of packaging/debian-deps.sh. Prints a time per step and ends with "N passed, N failed".
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1
PY=$ROOT/.venv/bin/python
[ -x "$PY" ] || { echo "packaging: .venv is missing (run the README's test command first)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bp-packaging.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NODISPLAY=(env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen)

passed=0
current=""
T0=$(date +%s)
on_error() {
  echo "-- FAILED: $current (line $1)"
  echo "packaging: $passed passed, 1 failed"
  exit 1
}
trap 'on_error $LINENO' ERR
begin() { current=$1; STEP_T=$(date +%s); echo; echo "== $current"; }
end() { passed=$((passed + 1)); echo "-- ok: $current ($(( $(date +%s) - STEP_T )) s)"; }
fail() { echo "$*"; false; }
expect() {  # expect PATTERN COMMAND...: run, show the output, require PATTERN in it
  local pattern=$1 out rc=0; shift
  out=$("$@" 2>&1) || rc=$?
  grep -v "propagateSizeHints" <<<"$out" || true
  [ "$rc" -eq 0 ] || fail "exit $rc from: $*"
  grep -Eq -- "$pattern" <<<"$out" || fail "expected /$pattern/ in the output of: $*"
}

begin "sdist and wheel"
"$PY" -m pip install -q -e ".[build]"
"$PY" -m build -q --outdir "$WORK/dist" . >/dev/null
WHEEL=$(ls "$WORK"/dist/*.whl)
ls -l "$WORK"/dist
"$PY" - "$WHEEL" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
res = [n for n in names if n.startswith("playground/_resources/")]
print(f"{len(names)} files, {len(res)} under playground/_resources:")
for n in res:
    print("  ", n)
need = ["examples/moons_mlp.json", "examples/digits_mlp.json", "icons/backprop-playground.svg",
        "desktop/io.github.backprop_playground.BackpropPlayground.desktop",
        "desktop/io.github.backprop_playground.BackpropPlayground.metainfo.xml"]
missing = [n for n in need if "playground/_resources/" + n not in names]
sys.exit(f"missing from the wheel: {missing}" if missing else 0)
EOF
end

begin "the wheel in a fresh virtual environment"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$WHEEL"
mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"  # nothing of the checkout can be found from here
expect "^Backprop Playground [0-9]" "$WORK/venv/bin/backprop-playground" --version
expect "^Backprop Playground [0-9]" "$WORK/venv/bin/python" -m playground --version
expect "^$WORK/venv/.*/playground/_resources$" "$WORK/venv/bin/python" -c \
  "from playground.resources import resource_root; print(resource_root())"
expect "gradient check passed" "$WORK/venv/bin/playground" check square_of_sum
expect "^smoke: ok .*platform offscreen" "${NODISPLAY[@]}" "$WORK/venv/bin/backprop-playground" --smoke
expect "menu entry runs: $WORK/venv/bin/backprop-playground %f" \
  env XDG_DATA_HOME="$WORK/share" "$WORK/venv/bin/backprop-playground" --install-desktop
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$WORK"/share/applications/*.desktop
fi
expect "removed" env XDG_DATA_HOME="$WORK/share" "$WORK/venv/bin/backprop-playground" --uninstall-desktop
[ -z "$(find "$WORK/share" -type f)" ] || fail "--uninstall-desktop left files behind"
cd "$ROOT"
end

begin "the PyInstaller bundle"
PYTHON="$PY" packaging/build.sh >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; fail "packaging/build.sh failed"; }
# PyInstaller's notes about optional libraries nobody here loads are left out
grep -Ev "WARNING: (Library .* required via ctypes|Ignoring .* imported from|Hidden import|Library not found: could not resolve 'lib(gtk|gdk))" "$WORK/build.log" || true
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
TARBALL=dist/backprop-playground-$VERSION-linux-$(uname -m).tar.gz
[ -f "$TARBALL" ] || fail "$TARBALL was not made"
end

begin "the bundle runs (offscreen, X11 under Xvfb, CLI, install.sh)"
mkdir -p "$WORK/bundle"
tar -C "$WORK/bundle" -xzf "$TARBALL"
B=$(ls -d "$WORK"/bundle/backprop-playground-*)
APP=$B/app/backprop-playground
echo "bundle: $(du -sh "$B/app" | cut -f1) unpacked, tarball $(du -h "$TARBALL" | cut -f1)"
cd "$WORK/elsewhere"
expect "^Backprop Playground $VERSION$" "$APP" --version
expect "^smoke: ok .*platform offscreen" "${NODISPLAY[@]}" "$APP" --smoke
expect "^smoke: ok .*platform xcb" xvfb-run -a -s "-screen 0 1280x1024x24" \
  env -u WAYLAND_DISPLAY QT_QPA_PLATFORM=xcb "$APP" --smoke
expect "^done: [0-9]+ steps" "$APP" train digits_mlp --epochs 1
# export needs onnx's and nbformat's metadata and nbformat's schemas inside the bundle
for fmt in onnx:x.onnx numpy:x.py notebook:x.ipynb pytorch:proj; do
  expect "^exported ${fmt%%:*}" "$APP" export tutorial_2_2_1 --to "${fmt%%:*}" "$WORK/export-${fmt#*:}"
done
expect "parity with the app \(onnx.reference.ReferenceEvaluator\): largest difference" \
  "$APP" export digits_tutorial --to onnx "$WORK/export-d.onnx" --with-loss
expect "^imported [0-9]+ nodes" "$APP" import "$WORK/export-d.onnx" "$WORK/imported.json"
mkdir -p "$WORK/home"
expect "menu entry runs: $WORK/home/.local/opt/backprop-playground/backprop-playground %f" \
  env -u XDG_DATA_HOME HOME="$WORK/home" "$B/install.sh"
expect "^Backprop Playground $VERSION$" "$WORK/home/.local/bin/backprop-playground" --version
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$WORK"/home/.local/share/applications/*.desktop
fi
expect "removed" env -u XDG_DATA_HOME HOME="$WORK/home" \
  "$WORK/home/.local/opt/backprop-playground/install.sh" --uninstall
left=$(find "$WORK/home" -type f)
[ -z "$left" ] || fail "install.sh --uninstall left: $left"
cd "$ROOT"
end

begin "start-up figures"
"$PY" tests/benchmarks/startup.py --runs 3 --bundle "$APP"
end

trap - ERR
echo
echo "packaging checks took $(( $(date +%s) - T0 )) s"
echo "packaging: $passed passed, 0 failed"
