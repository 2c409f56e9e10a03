package stack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootRunsTheDoctor checks that every level's boot script, after it
// starts the app, runs `webdemo doctor` once as the app's user with the
// app's settings, and boots on when the doctor finds a problem. It runs the
// script's end under bash with a stand-in systemd-run.
func TestBootRunsTheDoctor(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for n := range 5 {
		sim := simulate(t, n)
		for _, host := range append(sim.ofType(tInstance), sim.ofType(tTemplate)...) {
			script := userData(t, host)
			const start = "systemctl restart webdemo.service\n"
			i := strings.Index(script, start)
			if i < 0 {
				t.Fatalf("level %d %s: the boot script never starts the app", n, host.Name)
			}
			if strings.Contains(script[:i], "webdemo doctor") {
				t.Errorf("level %d %s: the doctor runs before the app starts", n, host.Name)
			}
			end := script[i+len(start):]
			for _, doctorExit := range []int{0, 1} {
				args, out, err := runBootEnd(t, end, doctorExit)
				if err != nil {
					t.Fatalf("level %d %s: with the doctor exiting %d the boot fails: %v\n%s", n, host.Name, doctorExit, err, out)
				}
				if !strings.Contains(out, fmt.Sprintf("web-demo level %d is running", n)) {
					t.Errorf("level %d %s: with the doctor exiting %d the boot stops early:\n%s", n, host.Name, doctorExit, out)
				}
				if failed := strings.Contains(out, "doctor found problems"); failed != (doctorExit != 0) {
					t.Errorf("level %d %s: doctor exit %d, boot log says problems: %v\n%s", n, host.Name, doctorExit, failed, out)
				}
				if calls := strings.Count(args, "\n"); calls != 1 {
					t.Errorf("level %d %s: systemd-run ran %d times, want once", n, host.Name, calls)
				}
				want := []string{"--wait", "--pipe", "--uid=webdemo", "--gid=webdemo",
					"--property=EnvironmentFile=/etc/webdemo/env", "/usr/local/bin/webdemo doctor"}
				for _, w := range want {
					if !strings.Contains(args, w) {
						t.Errorf("level %d %s: systemd-run %s lacks %s", n, host.Name, args, w)
					}
				}
			}
		}
	}
}

// runBootEnd runs the end of a boot script as the boot does (set -euo
// pipefail), with a systemd-run that records its arguments and exits with
// doctorExit. It returns those arguments and the script's output.
func runBootEnd(t *testing.T, end string, doctorExit int) (args, out string, err error) {
	t.Helper()
	dir := t.TempDir()
	record := filepath.Join(dir, "systemd-run.args")
	standIn := fmt.Sprintf("#!/bin/bash\necho \"$*\" >> %q\necho 'ok    database  stand-in'\nexit %d\n", record, doctorExit)
	if err := os.WriteFile(filepath.Join(dir, "systemd-run"), []byte(standIn), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+end)
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	combined, err := cmd.CombinedOutput()
	recorded, readErr := os.ReadFile(record)
	if readErr != nil && err == nil {
		t.Fatalf("the boot script's end never calls systemd-run:\n%s", combined)
	}
	return string(recorded), string(combined), err
}
