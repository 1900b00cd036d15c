#!/usr/bin/env bash
# Install the system packages Seinhuis needs when they are missing (Debian; run as root or via sudo).
set -euo pipefail
need=()
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so' || need+=(libsodium23)
# Debian's Chromium for the portal's browser tests (Playwright drives it; it never downloads one).
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# A real PostgreSQL 15 for the storage contract and multi-hub tests and the spine-pg bench
# (seinhuis/devpg.py starts a throwaway cluster itself; the packaged cluster service is not used).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
