// Command levels shows what each tutorial level builds, and what changes
// between two levels, by running the Pulumi program under mocks: no AWS
// account, no Pulumi CLI, no credentials.
//
//	go run ./infra/cmd/levels          every level, each step up, and each
//	                                   migration between neighbours
//	go run ./infra/cmd/levels 1 2      levels 1 and 2, the change, and the
//	                                   migration that keeps the photos
//
// Each change is marked as pulumi up would do it: + create, ~ update in
// place, +- replace, - delete, with the reason: the inputs that change, the
// ones the AWS provider cannot change in place, or the replaced resource an
// input refers to (stack.Compare). A migration is two updates: the level
// with migrateFrom set (both levels' stores, and the copy), then without it
// (the old stores go). It imports packages stack and level only.
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
	sims := map[int]*stack.Simulation{}
	for _, n := range levels {
		sim, err := stack.Simulate(stack.LevelConfig(n), stack.Options{BuildApp: stack.StandInArtifact})
		if err != nil {
			return fmt.Errorf("level %d: %w", n, err)
		}
		sims[n] = sim
		stack.WriteInventory(stdout, n, sim)
		fmt.Fprintln(stdout)
	}
	for i := 1; i < len(levels); i++ {
		stack.WriteDiff(stdout, levels[i-1], levels[i], sims[levels[i-1]], sims[levels[i]])
		fmt.Fprintln(stdout)
	}
	// The migrations: the given pair, or every step up and down between
	// neighbours.
	var steps [][2]int
	if len(args) == 2 {
		steps = append(steps, [2]int{levels[0], levels[1]})
	} else {
		for n := 1; n <= level.Max; n++ {
			steps = append(steps, [2]int{n - 1, n}, [2]int{n, n - 1})
		}
	}
	for _, step := range steps {
		from, to := step[0], step[1]
		if stores := level.Table[from].PhotoStores(); level.Table[from].SameStores(level.Table[to]) {
			if len(args) == 2 {
				fmt.Fprintf(stdout, "Level %d → %d: the photos stay where they are (%s): step without migrateFrom\n\n", from, to, stores)
			}
			continue
		}
		config := stack.LevelConfig(to)
		config["migrateFrom"] = strconv.Itoa(from)
		mid, err := stack.Simulate(config, stack.Options{BuildApp: stack.StandInArtifact})
		if err != nil {
			return fmt.Errorf("level %d with migrateFrom %d: %w", to, from, err)
		}
		for _, n := range step {
			if sims[n] == nil {
				if sims[n], err = stack.Simulate(stack.LevelConfig(n), stack.Options{BuildApp: stack.StandInArtifact}); err != nil {
					return fmt.Errorf("level %d: %w", n, err)
				}
			}
		}
		stack.WriteMigration(stdout, from, to, sims[from], mid, sims[to])
		fmt.Fprintln(stdout)
	}
	return nil
}
