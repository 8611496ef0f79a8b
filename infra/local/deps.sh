#!/bin/sh
# deps.sh TOOL... checks that each tool `make deps` needs is present and new
# enough. What is missing or too old is installed with apt-get on Debian or
# Ubuntu when running as root (or with a sudo that asks no password), and only
# when Debian's package is new enough; otherwise the script names what is
# missing, the version needed and how to install it, one line each, and exits 1.
#
# Tools and the version each needs:
#   java   17 or later (DynamoDB Local)
#   node   the highest minimum the engines fields of infra/package-lock.json
#          state (the pinned CDK CLI and SES local), and npm 7 or later (the
#          lock file's format)
#   go     the `go` line of go.mod (checked before any module is downloaded)
#   gcc    any (the race detector needs cgo)
#   zip    any (make build)
#
# Test hooks, set only by the tests in infra/local (deps_test.go):
#   DEPS_DEBIAN_VERSION_FILE  the file whose presence means Debian or Ubuntu
#                             (default /etc/debian_version)
#   DEPS_UID                  the user id to act as (default: id -u)
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
debian_file=${DEPS_DEBIAN_VERSION_FILE:-/etc/debian_version}
uid=${DEPS_UID:-$(id -u)}
GO=${GO:-go}
failed=0
apt_updated=0

# version_ge A B: whether dotted version A is B or later (missing parts are 0).
version_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		na = split(a, x, "."); nb = split(b, y, "."); n = na > nb ? na : nb
		for (i = 1; i <= n; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 }
		exit 0 }'
}

# The version each tool reports, as dotted numbers; empty when it is missing.
java_version() { command -v java >/dev/null && java -version 2>&1 | sed -n '1s/^[^"]*"\([0-9][0-9._]*\).*/\1/p' | sed 's/^1\.//; s/_.*//'; }
node_version() { command -v node >/dev/null && node --version | sed -n 's/^v\([0-9][0-9.]*\).*/\1/p'; }
npm_version() { command -v npm >/dev/null && npm --version | sed -n 's/^\([0-9][0-9.]*\).*/\1/p'; }
# Run in the module, so that a Go 1.21+ that switches toolchains reports the
# one go.mod selects; one that cannot switch reports its own version.
go_version() {
	command -v "$GO" >/dev/null || return 0
	{ (cd "$root" && "$GO" version 2>/dev/null) || (cd "$root" && GOTOOLCHAIN=local "$GO" version 2>/dev/null); } |
		sed -n 's/.*go\([0-9][0-9.]*\).*/\1/p'
}
gcc_version() { command -v gcc >/dev/null && echo 0; }
zip_version() { command -v zip >/dev/null && echo 0; }

go_needed() { sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$root/go.mod"; }
# The lowest version each engines field admits is its first number
# (">= 18.0.0", "^20.19.0 || >=23"); all of them must hold.
node_needed() {
	grep -o '"node": *"[^"]*"' "$root/infra/package-lock.json" |
		sed -n 's/^"node": *"[^0-9"]*\([0-9][0-9.]*[0-9]\).*/\1/p; s/^"node": *"[^0-9"]*\([0-9]\)[^0-9].*/\1/p' |
		sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

can_install() {
	[ -f "$debian_file" ] || return 1
	[ "$uid" = 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }
}
as_root() { if [ "$uid" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
# apt_candidate PACKAGE: the version apt-get would install, without epoch or
# Debian revision; empty when there is none.
apt_candidate() {
	if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >/dev/null && apt_updated=1; fi
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*:\)\{0,1\}\([0-9][0-9.]*\).*/\2/p'
}

# install NEEDED "PACKAGES"...: installs the first set of Debian packages whose
# first package is NEEDED or later.
install() {
	needed=$1
	shift
	for packages in "$@"; do
		candidate=$(apt_candidate "${packages%% *}")
		if [ -n "$candidate" ] && version_ge "$candidate" "$needed"; then
			echo "deps: installing $packages ($candidate)"
			# shellcheck disable=SC2086 # a list of package names
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
			return
		fi
	done
	return 1
}

# check TOOL NEEDED HOW "PACKAGES"...: TOOL must report NEEDED or later; when
# it does not, installs one of the PACKAGES sets if it may, else says HOW.
check() {
	tool=$1 needed=$2 how=$3
	shift 3
	have=$(${tool}_version)
	if [ -n "$have" ] && version_ge "$have" "$needed"; then return 0; fi
	if [ $# -gt 0 ] && can_install && install "$needed" "$@"; then
		have=$(${tool}_version)
		if [ -n "$have" ] && version_ge "$have" "$needed"; then return 0; fi
	fi
	if [ -n "$have" ]; then found="$tool $have is too old"; else found="$tool is missing"; fi
	if [ "$needed" = 0 ]; then wanted="$tool"; else wanted="$tool $needed or later"; fi
	echo "deps: $found: need $wanted. $how" >&2
	failed=1
}

[ $# -gt 0 ] || { echo "usage: deps.sh java|node|go|gcc|zip..." >&2; exit 2; }
for tool in "$@"; do
	case $tool in
	java) check java 17 "Install a Java 17+ runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17)." \
		openjdk-17-jre-headless openjdk-21-jre-headless ;;
	node)
		needed=$(node_needed)
		check node "$needed" "Install Node.js $needed+ with npm from https://nodejs.org/ or a version manager (nvm, fnm)." "nodejs npm"
		check npm 7 "Install npm 7+ (it comes with Node.js; or: npm install -g npm)." npm ;;
	go)
		needed=$(go_needed)
		check go "$needed" "Install Go $needed+ from https://go.dev/dl/ (a Go 1.21+ fetches it itself unless GOTOOLCHAIN=local)." golang-go ;;
	gcc) check gcc 0 "Install a C compiler (Debian/Ubuntu: apt-get install gcc libc6-dev; macOS: xcode-select --install)." "gcc libc6-dev" ;;
	zip) check zip 0 "Install zip (Debian/Ubuntu: apt-get install zip)." zip ;;
	*) echo "deps.sh: unknown tool $tool" >&2; exit 2 ;;
	esac
done
if [ "$failed" != 0 ]; then
	if [ -f "$debian_file" ] && ! can_install; then
		echo "deps: as root (or with sudo) on Debian or Ubuntu, make deps installs what Debian has new enough." >&2
	fi
	exit 1
fi
