#!/usr/bin/env bash
# The retained-data rows at full size: fill a broker with GIB GiB (default 100), then time
# its restart after a clean stop and after kill -9.
#
# Few machines have 100 GiB of disk to spare, so the data directory is a btrfs filesystem
# in a sparse loop file, mounted with compress-force. The runner's records repeat one byte,
# so they take about 1/30 of their size on the real disk; the broker still writes, stores
# and recovers every byte through ordinary files. Needs root (mount) and btrfs-progs.
#
#   sudo scripts/bench-retained.sh [GIB]
set -euo pipefail
cd "$(dirname "$0")/.."

gib="${1:-100}"
image="${TIDELOG_RETAINED_IMAGE:-/var/tmp/tidelog-retained.img}"
command -v mkfs.btrfs >/dev/null || { echo "needs mkfs.btrfs: apt-get install btrfs-progs" >&2; exit 1; }

cargo build --release -p tidelog-server -p tidelog-bench

mount_dir="$(mktemp -d)"
cleanup() {
    umount "$mount_dir" 2>/dev/null || true
    rmdir "$mount_dir"
    rm -f "$image"
}
trap cleanup EXIT
# Half again the data's size: btrfs keeps metadata twice, and the limit files need room.
truncate -s "$((gib * 3 / 2 + 16))G" "$image"
mkfs.btrfs -q -f "$image"
mount -o loop,compress-force=zstd:1,noatime "$image" "$mount_dir"

./target/release/tidelog-bench retained --restart-gib "$gib" --work-dir "$mount_dir"
echo "disk used by the compressed image: $(du -h "$image" | cut -f1)"
