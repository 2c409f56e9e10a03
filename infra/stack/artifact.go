package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Artifact is the app binary the instances run.
type Artifact struct {
	Path   string
	SHA256 string
	GOARCH string
}

// Key is the artifact's object key. It carries the hash, so a new build is
// a new object and a new user-data.
func (a Artifact) Key() string {
	return fmt.Sprintf("app/webdemo-linux-%s-%s", a.GOARCH, a.SHA256[:16])
}

// BuildApp cross-compiles ./app for Linux on goarch, without cgo and with
// reproducible flags, so an unchanged app hashes the same and rolls nothing.
func BuildApp(goarch string) (Artifact, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return Artifact{}, fmt.Errorf("build app: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return Artifact{}, fmt.Errorf("build app: not inside the web-demo module")
	}
	outDir := filepath.Join(os.TempDir(), "web-demo-build")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Artifact{}, err
	}
	out := filepath.Join(outDir, "webdemo-linux-"+goarch)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "./app")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return Artifact{}, fmt.Errorf("build app for linux/%s: %w\n%s", goarch, err, output)
	}
	sum, err := fileSHA256(out)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Path: out, SHA256: sum, GOARCH: goarch}, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
