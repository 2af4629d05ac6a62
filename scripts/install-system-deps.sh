#!/usr/bin/env bash
# Install what the tests need besides Python packages: SAOImage DS9, the XPA command-line tools and
# a virtual X server (DS9 tests), headless Chromium and its WebDriver (the report.html test).
set -euo pipefail
missing=()
command -v ds9 >/dev/null 2>&1 || missing+=(saods9)
command -v xpaget >/dev/null 2>&1 || missing+=(xpa-tools)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb xauth)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "the tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
fi
