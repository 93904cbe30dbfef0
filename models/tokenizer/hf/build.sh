#!/usr/bin/env bash
# Builds libtokenizers.a, the static Rust library (Hugging Face's `tokenizers` crate behind a C ABI)
# that github.com/daulet/tokenizers links with cgo, from the Rust sources shipped in that Go
# module's zip (Cargo.toml, Cargo.lock, src/lib.rs), with cargo and crates.io only.
#
# Usage (from anywhere):  models/tokenizer/hf/build.sh [OUT_DIR]
# OUT_DIR defaults to models/tokenizer/hf/lib (gitignored); the package's cgo flags look there, so
# afterwards `go test -tags hftokenizers ./models/tokenizer/...` needs no extra flags (link.go).
#
# One change is made to a copy of the sources: the module pins tiktoken-rs (used only for
# tiktoken-format tokenizers, not by this project) to a GitHub branch, which cannot be fetched
# without GitHub access; the copy takes tiktoken-rs from crates.io instead (TIKTOKEN_VERSION).
# Needs: go, cargo/rustc (1.85 or newer), a C compiler; about 15 minutes on 2 shared cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$here/lib}
tiktoken=${TIKTOKEN_VERSION:-=0.9.1}

mod=github.com/daulet/tokenizers
cd "$root"
version=$(go list -m -f '{{.Version}}' "$mod")
go mod download "$mod"
src=$(go list -m -f '{{.Dir}}' "$mod")
if [[ ! -f "$src/Cargo.toml" || ! -f "$src/src/lib.rs" ]]; then
	echo "build.sh: $src (module $mod $version) has no Cargo.toml or src/lib.rs" >&2
	exit 1
fi
echo "building libtokenizers.a from $mod $version ($src) into $out"

mkdir -p "$out"
work="$out/src"
rm -rf "$work"
mkdir -p "$work"
cp -r "$src/Cargo.toml" "$src/Cargo.lock" "$src/src" "$work/"
chmod -R u+w "$work"
# tiktoken-rs: GitHub branch → crates.io release. Dev-dependencies and benches are not needed.
sed -i -e "s|^tiktoken-rs = .*|tiktoken-rs = \"$tiktoken\"|" "$work/Cargo.toml"
sed -i -e '/^\[dev-dependencies\]/,$d' "$work/Cargo.toml"
grep -q "^tiktoken-rs = \"$tiktoken\"" "$work/Cargo.toml" || {
	echo "build.sh: could not replace the tiktoken-rs dependency in $work/Cargo.toml" >&2
	exit 1
}

cargo build --release --manifest-path "$work/Cargo.toml" --target-dir "$out/target"
cp "$out/target/release/libtokenizers.a" "$out/libtokenizers.a"
cp "$src/tokenizers.h" "$out/tokenizers.h"
echo "$mod $version" >"$out/VERSION"
ls -l "$out/libtokenizers.a"
