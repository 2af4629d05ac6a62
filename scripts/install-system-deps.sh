#!/usr/bin/env bash
# Install what the DS9 tests need: SAOImage DS9, the XPA command-line tools and a virtual X server.
set -euo pipefail
missing=()
command -v ds9 >/dev/null 2>&1 || missing+=(saods9)
command -v xpaget >/dev/null 2>&1 || missing+=(xpa-tools)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb xauth)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "DS9 tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
fi
