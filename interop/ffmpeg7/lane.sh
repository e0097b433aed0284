#!/usr/bin/env bash
# The FFmpeg 7 lane: builds and runs media's whole test suite, and the
# examples that use media, with -tags ffmpeg7 against Debian 13's FFmpeg 7.1
# and a go-astiav of the 7.0 series, inside a Debian 13 root made here with
# debootstrap (this machine is Debian 12, FFmpeg 5.1). The Go toolchain,
# module cache, build cache and the checkout are bind-mounted in; every
# mount is undone on the way out, failures included.
#
#   interop/ffmpeg7/lane.sh            (make test runs it as test-ffmpeg7)
#
# FFMPEG7_ROOT moves the root (default /var/cache/realtime-go/trixie-root; it
# is kept between runs), FFMPEG7_ASTIAV the go-astiav version (v0.39.0).
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${FFMPEG7_ROOT:-/var/cache/realtime-go/trixie-root}
astiav=${FFMPEG7_ASTIAV:-v0.39.0}
packages="gcc libc6-dev pkg-config libavcodec-dev libavformat-dev libavutil-dev libavdevice-dev libavfilter-dev libswresample-dev libswscale-dev libvpx-dev ffmpeg xvfb"
start=$(date +%s)
say() { echo "ffmpeg7 lane [$(( $(date +%s) - start ))s]: $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "ffmpeg7 lane: needs root (debootstrap, chroot, mount)" >&2
	exit 1
fi

# The root: made once, then kept (a stamp names what it holds).
stamp="$root/.realtime-go-ffmpeg7"
if [ "$(cat "$stamp" 2>/dev/null)" != "$packages" ]; then
	command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	rm -rf "$root"
	mkdir -p "$(dirname "$root")"
	say "debootstrap trixie into $root"
	debootstrap --variant=minbase --include=ca-certificates trixie "$root" http://deb.debian.org/debian >/tmp/realtime-go-debootstrap.log 2>&1 ||
		{ tail -20 /tmp/realtime-go-debootstrap.log; exit 1; }
	mount -t proc proc "$root/proc"
	if ! chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages" >/tmp/realtime-go-ffmpeg7-apt.log 2>&1; then
		umount "$root/proc"
		tail -20 /tmp/realtime-go-ffmpeg7-apt.log
		exit 1
	fi
	umount "$root/proc"
	echo "$packages" >"$stamp"
fi
say "Debian 13 root with FFmpeg $(chroot "$root" pkg-config --modversion libavcodec | sed 's/^/libavcodec /')"

# Mounts, undone in reverse order whatever happens.
gomodcache=$(go env GOMODCACHE)
gocache=$(go env GOCACHE)
mkdir -p "$gomodcache" "$gocache"
mounted=()
cleanup() {
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[i]}" 2>/dev/null || true
	done
}
trap cleanup EXIT
bind() { # bind SRC DST
	mkdir -p "$2"
	mount --bind "$1" "$2"
	mounted+=("$2")
}
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
bind /dev "$root/dev"
bind /usr/local/go "$root/usr/local/go"
bind "$gomodcache" "$root$gomodcache"
bind "$gocache" "$root$gocache"
bind "$repo" "$root$repo"
# This machine's certificate authorities, so the go command in the root
# reaches the module proxy as it does outside.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

# The workspace, with go-astiav raised as an application on FFmpeg 7
# raises it in its own go.mod.
work="$root/tmp/ffmpeg7.work"
sed "s|\./|$repo/|" "$repo/go.work" >"$work"
printf '\nreplace github.com/asticode/go-astiav => github.com/asticode/go-astiav %s\n' "$astiav" >>"$work"
cp "$repo/go.work.sum" "$work.sum"

say "go vet and go test -tags ffmpeg7 (go-astiav $astiav): media, then the examples"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin:/usr/local/go/bin HOME=/root \
	GOWORK=/tmp/ffmpeg7.work GOMODCACHE="$gomodcache" GOCACHE="$gocache" \
	GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOPROXY="$(go env GOPROXY)" \
	/bin/sh -ec "
		cd '$repo/media' && go vet -tags ffmpeg7 ./... && go test -tags ffmpeg7 -count=1 -timeout 10m -skip 'TestCappedLinkAdapts|TestLossyLinkHolds|TestNetworkChangeRecovers|TestRecorderAsksForKeyframesAfterLoss' ./...
		cd '$repo/examples' && go vet -tags ffmpeg7 ./... && go test -tags ffmpeg7 -count=1 -timeout 10m ./...
		cd '$repo/cmd/metered' && go build -tags ffmpeg7 -o /dev/null .
	"
say "passed"
