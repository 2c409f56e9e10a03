// Command levels shows what each tutorial level builds, and what changes
// between two levels, by running the Pulumi program under mocks: no AWS
// account, no Pulumi CLI, no credentials.
//
//	go run ./infra/cmd/levels          every level, and each step up
//	go run ./infra/cmd/levels 1 2      levels 1 and 2, and the change
//
// Each change is marked as pulumi up would do it: + create, ~ update in
// place, +- replace, - delete, with the reason: the inputs that change, the
// ones the AWS provider cannot change in place, or the replaced resource an
// input refers to (stack.Compare).
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"webdemo/infra/level"
	"webdemo/infra/stack"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "levels:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	var levels []int
	switch len(args) {
	case 0:
		for n := 0; n <= level.Max; n++ {
			levels = append(levels, n)
		}
	case 2:
		for _, arg := range args {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 || n > level.Max {
				return fmt.Errorf("%q is not a level: use 0 to %d", arg, level.Max)
			}
			levels = append(levels, n)
		}
	default:
		return fmt.Errorf("usage: levels [FROM TO]  (levels 0 to %d)", level.Max)
	}
	sims := make([]*stack.Simulation, len(levels))
	for i, n := range levels {
		sim, err := stack.Simulate(stack.LevelConfig(n), stack.Options{BuildApp: stack.StandInArtifact})
		if err != nil {
			return fmt.Errorf("level %d: %w", n, err)
		}
		sims[i] = sim
		stack.WriteInventory(stdout, n, sim)
		fmt.Fprintln(stdout)
	}
	for i := 1; i < len(levels); i++ {
		stack.WriteDiff(stdout, levels[i-1], levels[i], sims[i-1], sims[i])
		fmt.Fprintln(stdout)
	}
	return nil
}
