#!/usr/bin/env bash
# Guard the released wire contract: compare proto/ against the newest release tag (proto/v*).
# Before the first release there is nothing to break.
set -euo pipefail
tag=$(git tag --list 'proto/v*' --sort=-v:refname | head -n 1)
if [ -z "$tag" ]; then
  echo "buf breaking: no released contract yet (no proto/v* tag)"
  exit 0
fi
.venv/bin/buf breaking proto --against ".git#tag=${tag},subdir=proto"
echo "buf breaking: compatible with ${tag}"
