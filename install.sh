#!/usr/bin/env bash
# Installs what the back office needs on a fresh Debian machine: the Chinese font the
# PDFs embed (fonts-wqy-microhei), with --dev also the PDF text tools the tests read
# PDFs with (poppler) and Debian's Chromium for the browser tests (Playwright drives it;
# no browser is downloaded), then a virtualenv with the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")"

packages=(fonts-wqy-microhei)
requirements=requirements.txt
if [ "${1:-}" = "--dev" ]; then
  packages+=(poppler-utils poppler-data chromium)
  requirements=requirements-dev.txt
fi

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r "$requirements" -c constraints.txt
