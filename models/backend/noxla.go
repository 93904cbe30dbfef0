//go:build !(((linux && amd64) || darwin) && cgo && !noxla)

package backend

// xlaCompiled reports whether GoMLX's XLA backend is linked into this binary.
const xlaCompiled = false

// disableXLAAutoInstall is a no-op without the XLA backend.
func disableXLAAutoInstall() {}
