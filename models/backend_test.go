package models

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

func testBackend(t testing.TB) backends.Backend {
	b, err := simplego.New("parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
