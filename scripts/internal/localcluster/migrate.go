package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"webdemo/app/config"
)

// copyPhotos runs `webdemo copy`, the command the AWS stack runs between
// levels, with the target's settings in the environment and the source's
// as FROM_ settings (config.EnvironFrom), and returns its final line. Its
// whole output is appended to logPath.
func copyPhotos(ctx context.Context, binary string, from, to config.Config, logPath string) (string, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, binary, "copy")
	cmd.Env = append(append(to.Environ(), from.EnvironFrom(to)...), processEnv()...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("webdemo copy: %w", err)
	}
	var last string
	var tail []string // the last lines, for an error
	scanner := bufio.NewScanner(io.TeeReader(stdout, logFile))
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			last = line
			tail = append(tail[max(0, len(tail)-4):], line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return last, fmt.Errorf("webdemo copy: %w (its log: %s)\n%s", err, logPath, strings.Join(tail, "\n"))
	}
	// Only a copy of every photo ends "copy complete: ...".
	if !strings.HasPrefix(last, "copy complete: ") {
		return last, fmt.Errorf("webdemo copy ended without saying it is complete (its log: %s)\n%s", logPath, strings.Join(tail, "\n"))
	}
	return last, nil
}
