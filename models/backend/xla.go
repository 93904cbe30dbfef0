//go:build ((linux && amd64) || darwin) && cgo && !noxla

package backend

import (
	"github.com/gomlx/gomlx/backends/xla"
)

// xlaCompiled reports whether GoMLX's XLA backend is linked into this binary.
const xlaCompiled = true

func init() {
	// Never let the XLA backend download plugins, whoever creates it.
	xla.EnableAutoInstall(false)
}

// disableXLAAutoInstall turns off the XLA backend's plugin auto-install (a network download).
func disableXLAAutoInstall() { xla.EnableAutoInstall(false) }
