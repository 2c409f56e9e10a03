package stack

import (
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	appconfig "webdemo/app/config"
	"webdemo/infra/level"
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

// Op is what a change does to a resource. Its values are runes, so
// c.Op == '+' reads as before.
type Op rune

// The operations, as Pulumi plans them.
const (
	OpCreate  Op = '+'
	OpUpdate  Op = '~'
	OpReplace Op = '±'
	OpDelete  Op = '-'
)

// opOrder is the order changes are listed and counted in.
var opOrder = []Op{OpCreate, OpReplace, OpUpdate, OpDelete}

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpReplace:
		return "replace"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("Op(%q)", rune(o))
}

// Symbol is the op's mark in a diff: +, ~, +- or -.
func (o Op) Symbol() string {
	if o == OpReplace {
		return "+-"
	}
	return string(rune(o))
}

// Change is one resource's difference between two simulations.
type Change struct {
	Op Op
	// Resource is the new one, or for a delete the old one.
	Resource Resource
	// Fields are the inputs that differ, for an update or a replace.
	Fields []string
	// Reason says why: for a replace, which inputs force it (or which
	// replaced resource an input refers to); for an update, which inputs
	// change in place. Compare leaves it empty for creates and deletes.
	Reason string
}

// Compare lists what moving from a to b creates, replaces, updates and
// deletes. A change to an input the provider cannot update in place
// (forceNewRules) replaces the resource, and so does an input that forces
// replacement and refers to a replaced resource. Inputs in a resource's
// IgnoreChanges are not changes.
func Compare(a, b *Simulation) []Change {
	before := map[string]Resource{}
	for _, r := range a.Resources {
		before[r.Key()] = r
	}
	var changes []Change
	var diffs []*inputDiff
	seen := map[string]bool{}
	for _, r := range b.Resources {
		seen[r.Key()] = true
		old, ok := before[r.Key()]
		if !ok {
			changes = append(changes, Change{Op: OpCreate, Resource: r})
			continue
		}
		diffs = append(diffs, diffInputs(old, r))
	}
	for _, r := range a.Resources {
		if !seen[r.Key()] {
			changes = append(changes, Change{Op: OpDelete, Resource: r})
		}
	}
	propagateReplacements(diffs)
	for _, d := range diffs {
		switch {
		case d.replaced():
			reason := strings.Join(d.forces, "; ")
			if len(d.updates) > 0 {
				reason += "; also " + strings.Join(d.updates, "; ")
			}
			changes = append(changes, Change{Op: OpReplace, Resource: d.new, Fields: d.fields, Reason: reason})
		case len(d.updates) > 0:
			changes = append(changes, Change{Op: OpUpdate, Resource: d.new, Fields: d.fields, Reason: strings.Join(d.updates, "; ")})
		}
	}
	rank := map[Op]int{}
	for i, op := range opOrder {
		rank[op] = i
	}
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].Op != changes[j].Op {
			return rank[changes[i].Op] < rank[changes[j].Op]
		}
		return changes[i].Resource.Key() < changes[j].Resource.Key()
	})
	return changes
}

// WriteDiff prints Compare's result between two levels: a count of each
// kind of change, then one line per change with its mark (+ create,
// ~ update, +- replace, - delete), type, name, parent and reason.
func WriteDiff(w io.Writer, from, to int, a, b *Simulation) {
	writeChanges(w, fmt.Sprintf("Level %d → %d", from, to), featureChanges(from, to),
		fmt.Sprintf("new at level %d", to), fmt.Sprintf("not at level %d", to), a, b)
}

// WriteMigration prints the two updates that step from level from to level
// to keeping the photos: a (level from) to mid (level to with migrateFrom
// from), which adds the new stores beside the old and copies, and mid to b
// (level to), which removes the old stores.
func WriteMigration(w io.Writer, from, to int, a, mid, b *Simulation) {
	writeChanges(w, fmt.Sprintf("Level %d → %d (migrateFrom %d)", from, to, from), featureChanges(from, to),
		fmt.Sprintf("new at level %d", to), fmt.Sprintf("not at level %d", to), a, mid)
	writeChanges(w, fmt.Sprintf("Level %d (migrateFrom %d) → %d", to, from, to), "",
		fmt.Sprintf("new at level %d", to), fmt.Sprintf("level %d's, removed once copied", from), mid, b)
}

// writeChanges prints one update's changes under title.
func writeChanges(w io.Writer, title, features, created, deleted string, a, b *Simulation) {
	changes := Compare(a, b)
	fmt.Fprintf(w, "%s: %s\n", title, summarizeChanges(changes))
	if features != "" {
		fmt.Fprintf(w, "  features: %s\n", features)
	}
	for _, c := range changes {
		line := fmt.Sprintf("  %2s %-58s %s", c.Op.Symbol(), c.Resource.Type, c.Resource.Name)
		if c.Resource.Parent != "" {
			line += " (in " + c.Resource.Parent + ")"
		}
		reason := c.Reason
		switch {
		case reason != "":
		case c.Op == OpCreate:
			reason = created
		case c.Op == OpDelete:
			reason = deleted
		}
		if reason != "" {
			line += " — " + reason
		}
		fmt.Fprintln(w, line)
	}
	writeSettingChanges(w, a, b)
}

// summarizeChanges counts changes by kind: "2 to create, 1 to update
// (3 changes)".
func summarizeChanges(changes []Change) string {
	if len(changes) == 0 {
		return "no changes"
	}
	count := map[Op]int{}
	for _, c := range changes {
		count[c.Op]++
	}
	var parts []string
	for _, op := range opOrder {
		if n := count[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", n, op))
		}
	}
	noun := "changes"
	if len(changes) == 1 {
		noun = "change"
	}
	return fmt.Sprintf("%s (%d %s)", strings.Join(parts, ", "), len(changes), noun)
}

// featureChanges names the level features that go on (+) and off (-)
// between two levels.
func featureChanges(from, to int) string {
	a, errA := level.For(from, false)
	b, errB := level.For(to, false)
	if errA != nil || errB != nil {
		return ""
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var parts []string
	for i := 0; i < va.NumField(); i++ {
		if va.Field(i).Kind() != reflect.Bool || va.Field(i).Bool() == vb.Field(i).Bool() {
			continue
		}
		mark := "+"
		if va.Field(i).Bool() {
			mark = "-"
		}
		parts = append(parts, mark+va.Type().Field(i).Name)
	}
	return strings.Join(parts, ", ")
}

// AppSettings are the settings the level's servers run the app with, read
// back from the first server's user-data (its SETTINGS block), as NAME →
// value. Level 0's password is made on the host and is never there.
func AppSettings(sim *Simulation) (map[string]string, error) {
	for _, r := range sim.Resources {
		var raw string
		switch r.Type {
		case "aws:ec2/instance:Instance":
			raw = r.Inputs["userData"].StringValue()
		case "aws:ec2/launchTemplate:LaunchTemplate":
			decoded, err := base64.StdEncoding.DecodeString(r.Inputs["userData"].StringValue())
			if err != nil {
				return nil, fmt.Errorf("%s user-data: %w", r.Name, err)
			}
			raw = string(decoded)
		default:
			continue
		}
		return settingsBlock(raw)
	}
	return nil, fmt.Errorf("no server with user-data")
}

// settingsBlock parses the environment file the boot script writes.
func settingsBlock(userData string) (map[string]string, error) {
	_, rest, ok := strings.Cut(userData, "<<'SETTINGS'\n")
	block, _, ok2 := strings.Cut(rest, "\nSETTINGS\n")
	if !ok || !ok2 {
		return nil, fmt.Errorf("user-data has no SETTINGS block")
	}
	settings := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		name, value, _ := strings.Cut(line, "=")
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		}
		settings[name] = value
	}
	return settings, nil
}

// SettingChanges lists the app settings that differ between two levels'
// servers, such as "PAGE_CACHE: off → memcached".
func SettingChanges(a, b *Simulation) ([]string, error) {
	before, err := AppSettings(a)
	if err != nil {
		return nil, err
	}
	after, err := AppSettings(b)
	if err != nil {
		return nil, err
	}
	defaults := map[string]string{}
	for _, setting := range appconfig.Settings {
		defaults[setting.Name] = setting.Default()
	}
	// The user-data lists only settings that differ from the app's
	// defaults.
	show := func(settings map[string]string, name string) string {
		v, ok := settings[name]
		if !ok {
			v = defaults[name]
		}
		if v == "" {
			return `""`
		}
		return v
	}
	names := slices.Sorted(maps.Keys(before))
	for name := range after {
		if _, ok := before[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var changes []string
	for _, name := range names {
		if from, to := show(before, name), show(after, name); from != to {
			changes = append(changes, fmt.Sprintf("%s: %s → %s", name, from, to))
		}
	}
	return changes, nil
}

// writeSettingChanges prints SettingChanges under the resource changes.
func writeSettingChanges(w io.Writer, a, b *Simulation) {
	changes, err := SettingChanges(a, b)
	if err != nil {
		fmt.Fprintf(w, "  app settings: %v\n", err)
		return
	}
	switch len(changes) {
	case 0:
		fmt.Fprintln(w, "  app settings: no changes")
		return
	case 1:
		fmt.Fprintln(w, "  app settings: 1 change")
	default:
		fmt.Fprintf(w, "  app settings: %d changes\n", len(changes))
	}
	for _, c := range changes {
		fmt.Fprintln(w, "     "+c)
	}
}
