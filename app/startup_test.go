package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad or taken ADDR stops the start before the database file or the
// uploads directory exists.
func TestBadAddrCreatesNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, addr := range map[string]string{
		"port out of range": "127.0.0.1:99999",
		"port in use":       taken.Addr().String(),
		"not a host":        "no_such host:8080",
		"foreign address":   "192.0.2.1:8080", // TEST-NET-1: on no interface here
	} {
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			env := map[string]string{
				"ADDR":        addr,
				"SQLITE_PATH": filepath.Join(data, "webdemo.db"),
				"UPLOAD_DIR":  filepath.Join(data, "uploads"),
			}
			err := run(context.Background(), nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "ADDR: ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line starting ADDR:", err)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("a failed start left %s behind (stat: %v)", data, err)
			}
		})
	}
}
