package models

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// testBackend is the project's backend (SimpleGo in CI), with Mimicry's DotGeneral gradient.
func testBackend(t testing.TB) backends.Backend {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
