// Package hf runs Hugging Face tokenizers (tokenizer.json files) with Hugging Face's own Rust
// implementation, through the cgo binding github.com/daulet/tokenizers, behind the
// [tokenizer.Tokenizer] interface of models/tokenizer. It is an optional alternative to the
// pure-Go [tokenizer.WordPiece], for cross-checking it and for tokenizers that the pure-Go code
// does not support.
//
// The code is compiled only with the build tag "hftokenizers" (without it this package is empty,
// and the default build stays pure Go and needs no Rust). It links libtokenizers.a, which
// build.sh (in this folder) builds with cargo from the Rust sources in the Go module's zip into
// models/tokenizer/hf/lib (gitignored), where this package's cgo flags look for it:
//
//	models/tokenizer/hf/build.sh    # about 15 minutes on 2 busy cores
//	go test -tags hftokenizers ./models/tokenizer/...
//
// (With the library elsewhere, add CGO_LDFLAGS="-L<dir>".)
//
// Known limitation of the binding: texts are passed as C strings, so a text is cut at its first
// NUL byte (Hugging Face's normaliser would have removed the NUL and kept the rest).
package hf
