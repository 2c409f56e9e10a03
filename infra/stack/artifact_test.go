package stack

import (
	"debug/elf"
	"testing"
)

// BuildApp really cross-compiles: the binary is a static Linux ELF for the
// instances' CPU, and building twice gives the same hash, so an unchanged
// app never rolls the fleet.
func TestBuildAppIsReproducibleAndCrossCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the app")
	}
	first, err := BuildApp("arm64")
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("built for %v, want arm64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary is dynamically linked: cgo crept in")
		}
	}
	second, err := BuildApp("arm64")
	if err != nil {
		t.Fatal(err)
	}
	if first.SHA256 != second.SHA256 || len(first.SHA256) != 64 {
		t.Fatalf("hashes %s and %s differ", first.SHA256, second.SHA256)
	}
}
