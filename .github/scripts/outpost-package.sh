#!/usr/bin/env bash
# What action.yml installs, read from the Cargo.toml beside it (the one place
# both are written): `outpost-package.sh ACTION_DIR repository` prints the
# repository that publishes release binaries as OWNER/NAME, and
# `outpost-package.sh ACTION_DIR crate` the crate name on crates.io.
#
# ACTION_DIR is $GITHUB_ACTION_PATH: .../_actions/OWNER/REPO/REF for
# `uses: OWNER/REPO@REF`, the workspace itself (/home/runner/work/R/R, or
# D:\a\R\R on Windows) for `uses: ./`. Nothing is parsed out of the path, so
# every shape gives the same answer.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 ACTION_DIR repository|crate" >&2
  exit 2
fi
# Windows runners give backslashes; bash on Windows reads forward slashes too.
dir="${1//\\//}"
manifest="$dir/Cargo.toml"
if [ ! -f "$manifest" ]; then
  echo "::error::no Cargo.toml beside the action at $dir: cannot tell which Outpost to install" >&2
  exit 1
fi

# The first `key = "value"` of the [package] table.
package_field() {
  sed -n '/^\[package\]/,/^\[/p' "$manifest" | sed -n "s/^$1 = \"\(.*\)\"\$/\1/p" | head -n 1
}

case "$2" in
  repository)
    url=$(package_field repository)
    slug="${url#https://github.com/}"
    slug="${slug%/}"
    slug="${slug%.git}"
    # OWNER/NAME and nothing else: never a path like /home or D:/a.
    if ! [[ "$slug" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || [ "$slug" = "$url" ]; then
      echo "::error::$manifest: repository \"$url\" is not https://github.com/OWNER/NAME" >&2
      exit 1
    fi
    echo "$slug"
    ;;
  crate)
    name=$(package_field name)
    if ! [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]]; then
      echo "::error::$manifest: no package name" >&2
      exit 1
    fi
    echo "$name"
    ;;
  *)
    echo "usage: $0 ACTION_DIR repository|crate" >&2
    exit 2
    ;;
esac
