//go:build hftokenizers

package hf

// libtokenizers.a is looked for where build.sh puts it.

// #cgo LDFLAGS: -L${SRCDIR}/lib
import "C"
