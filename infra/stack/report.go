package stack

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// WriteInventory prints a level's resources, grouped by type.
func WriteInventory(w io.Writer, levelNumber int, sim *Simulation) {
	byType := map[string][]string{}
	for _, r := range sim.Resources {
		byType[r.Type] = append(byType[r.Type], r.Name)
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	fmt.Fprintf(w, "Level %d: %d resources\n", levelNumber, len(sim.Resources))
	for _, t := range types {
		names := byType[t]
		sort.Strings(names)
		fmt.Fprintf(w, "  %-58s %2d  %s\n", t, len(names), strings.Join(names, ", "))
	}
}

// Change is one resource's difference between two simulations.
type Change struct {
	Op       byte // '+', '-' or '~'
	Resource Resource
	// Fields are the inputs that differ, for '~'.
	Fields []string
}

// Compare lists what moving from a to b adds, removes and changes.
func Compare(a, b *Simulation) []Change {
	before := map[string]Resource{}
	for _, r := range a.Resources {
		before[r.Key()] = r
	}
	var changes []Change
	seen := map[string]bool{}
	for _, r := range b.Resources {
		seen[r.Key()] = true
		old, ok := before[r.Key()]
		if !ok {
			changes = append(changes, Change{Op: '+', Resource: r})
			continue
		}
		var fields []string
		for k := range mergeKeys(old, r) {
			if !old.Inputs[k].DeepEquals(r.Inputs[k]) {
				fields = append(fields, string(k))
			}
		}
		if len(fields) > 0 {
			sort.Strings(fields)
			changes = append(changes, Change{Op: '~', Resource: r, Fields: fields})
		}
	}
	for _, r := range a.Resources {
		if !seen[r.Key()] {
			changes = append(changes, Change{Op: '-', Resource: r})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].Op != changes[j].Op {
			return strings.IndexByte("+-~", changes[i].Op) < strings.IndexByte("+-~", changes[j].Op)
		}
		return changes[i].Resource.Key() < changes[j].Resource.Key()
	})
	return changes
}

func mergeKeys(a, b Resource) map[resource.PropertyKey]bool {
	keys := map[resource.PropertyKey]bool{}
	for k := range a.Inputs {
		keys[k] = true
	}
	for k := range b.Inputs {
		keys[k] = true
	}
	return keys
}

// WriteDiff prints Compare's result between two levels.
func WriteDiff(w io.Writer, from, to int, a, b *Simulation) {
	changes := Compare(a, b)
	fmt.Fprintf(w, "Level %d → %d: %d changes\n", from, to, len(changes))
	for _, c := range changes {
		line := fmt.Sprintf("  %c %-58s %s", c.Op, c.Resource.Type, c.Resource.Name)
		if c.Resource.Parent != "" {
			line += " (in " + c.Resource.Parent + ")"
		}
		if len(c.Fields) > 0 {
			line += ": " + strings.Join(c.Fields, ", ")
		}
		fmt.Fprintln(w, line)
	}
}
