#!/usr/bin/env bash
# Vendors uPlot (the flag page's charts) from its npm package into
# web/assets/vendor/, so that the server embeds it and needs no network.
# Pinned version; every copied file is checked against a pinned sha256 (a
# changed upload or a registry mix-up fails here, before anything is copied).
#
#   tools/vendor-uplot.sh        # then commit web/assets/vendor/
#
# To upgrade: change VERSION, run it once, check the diff of the pinned
# hashes it reports, update them here, run again.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.6.32
declare -A SHA256=(
  [dist/uPlot.iife.min.js]=19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f
  [dist/uPlot.min.css]=df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04
  [LICENSE]=8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd
)
# package file -> name under web/assets/vendor/
declare -A TARGET=(
  [dist/uPlot.iife.min.js]=uPlot.iife.min.js
  [dist/uPlot.min.css]=uPlot.min.css
  [LICENSE]=uPlot.LICENSE.txt
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --ignore-scripts --no-save --no-audit --no-fund --loglevel=error "uplot@$VERSION" >/dev/null
pkg="$tmp/node_modules/uplot"
got=$(node -p "require('$pkg/package.json').version")
[ "$got" = "$VERSION" ] || { echo "vendor-uplot: npm installed uplot $got, not $VERSION" >&2; exit 1; }

bad=0
for f in "${!SHA256[@]}"; do
  sum=$(sha256sum "$pkg/$f" | cut -d' ' -f1)
  if [ "$sum" != "${SHA256[$f]}" ]; then
    echo "vendor-uplot: $f has sha256 $sum, pinned ${SHA256[$f]}" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] || exit 1

out=web/assets/vendor
mkdir -p "$out"
for f in "${!TARGET[@]}"; do cp "$pkg/$f" "$out/${TARGET[$f]}"; done
echo "vendor-uplot: uplot $VERSION -> $out/ (${TARGET[*]})"
