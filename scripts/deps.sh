#!/usr/bin/env bash
# Installs the Debian packages cairn needs to build and test, when missing.
# Quiet when everything is there. As non-root, says what is missing.
set -euo pipefail
need=(gcc make libc6-dev libxxhash-dev pkgconf mpich libmpich-dev xz-utils pigz bc python3 coreutils util-linux procps netpipe-mpich2 yorick-mpy-mpich2)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "cairn needs these Debian packages: ${missing[*]}" >&2
	echo "install them with: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
