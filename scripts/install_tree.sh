#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The file-moving half of `make install` / `make uninstall` (mk/install.mk).
#
#   install_tree.sh check  DESTDIR FILE...        can every FILE be written?
#   install_tree.sh commit STAGE DESTDIR FILE...  put STAGE/FILE at DESTDIR/FILE
#   install_tree.sh remove PREFIX FILE...         delete FILEs, then empty folders
#
# FILEs are absolute install paths. commit is all or nothing: it checks,
# copies every file next to its destination under a temporary name, and
# renames them into place only once every copy has succeeded, so a full disk
# or a refused folder leaves the prefix as it was. Exit status 2 names the
# path and the problem.
set -euo pipefail

die() { echo "install: $*" >&2; exit 2; }

# The nearest folder of $1 that exists: what mkdir -p would have to write to.
existing_ancestor() {
  local dir=$1
  while [ ! -e "$dir" ]; do dir=$(dirname "$dir"); done
  printf '%s\n' "$dir"
}

check() {
  local destdir=$1; shift
  local file target dir
  for file; do
    target=$destdir$file
    dir=$(existing_ancestor "$(dirname "$target")")
    [ -d "$dir" ] || die "cannot install $target: $dir is not a folder"
    [ -w "$dir" ] || die "cannot install $target: $dir is not writable (choose a PREFIX you own, e.g. PREFIX=\$HOME/.local, or run as its owner)"
    [ ! -d "$target" ] || [ -L "$target" ] || die "cannot install $target: a folder is in the way"
  done
}

commit() {
  local stage=$1 destdir=$2; shift 2
  check "$destdir" "$@"
  local temps=() file target tmp
  trap 'rm -f "${temps[@]}"' EXIT
  for file; do
    [ -e "$stage$file" ] || [ -L "$stage$file" ] || die "internal: $stage$file was not staged"
    target=$destdir$file
    mkdir -p "$(dirname "$target")" || die "cannot create $(dirname "$target")"
    tmp=$(dirname "$target")/.$(basename "$target").install-$$
    temps+=("$tmp")
    cp -P "$stage$file" "$tmp" || die "cannot write $tmp"
  done
  # Every copy is in place: now rename (atomic, one file at a time).
  local i=0
  for file; do
    mv -f "${temps[$i]}" "$destdir$file"
    i=$((i + 1))
  done
  trap - EXIT
  echo "install: $# files in ${destdir:-}$(common_root "$@")"
}

# The longest leading folder shared by all paths (for the summary line).
common_root() {
  local root=$(dirname "$1") p
  for p; do
    while [ "${p#"$root"/}" = "$p" ] && [ "$root" != / ]; do root=$(dirname "$root"); done
  done
  printf '%s\n' "$root"
}

remove() {
  local prefix=$1; shift
  local file dir
  for file; do
    rm -f "$file" || die "cannot remove $file"
  done
  # Folders left empty, deepest first, never the prefix itself or above it.
  for file; do
    dir=$(dirname "$file")
    while [ "$dir" != "$prefix" ] && [ "${dir#"$prefix"/}" != "$dir" ]; do
      rmdir "$dir" 2>/dev/null || break
      dir=$(dirname "$dir")
    done
  done
  echo "uninstall: removed libdigit from $prefix"
}

cmd=${1:-}
shift || true
case $cmd in
  check | commit | remove) "$cmd" "$@" ;;
  *) die "usage: install_tree.sh check|commit|remove ..." ;;
esac
