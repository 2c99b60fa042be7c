# Shared helpers for the project's shell scripts: cache location, logging, root.
# Sourced, not run.

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
