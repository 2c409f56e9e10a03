package stack

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	appconfig "webdemo/app/config"
	"webdemo/app/photocopy"
	"webdemo/infra/level"
)

// migrationConfig is level to with migrateFrom from.
func migrationConfig(from, to int) map[string]string {
	return map[string]string{"level": strconv.Itoa(to), "migrateFrom": strconv.Itoa(from)}
}

var (
	migrationSimsMu sync.Mutex
	migrationSims   = map[[2]int]*Simulation{}
)

// simulateMigration runs level to with migrateFrom from once per test
// binary.
func simulateMigration(t *testing.T, from, to int) *Simulation {
	t.Helper()
	migrationSimsMu.Lock()
	defer migrationSimsMu.Unlock()
	key := [2]int{from, to}
	if sim, ok := migrationSims[key]; ok {
		return sim
	}
	sim, err := Simulate(migrationConfig(from, to), Options{BuildApp: StandInArtifact})
	if err != nil {
		t.Fatalf("level %d from %d: %v", to, from, err)
	}
	migrationSims[key] = sim
	return sim
}

// migrationSteps are the pairs with different photo stores that the tests
// walk: every step up and down between neighbours, and the long ones to and
// from level 0.
var migrationSteps = []struct {
	from, to int
	// The stores the first `pulumi up` keeps or makes.
	rds, efs, s3 bool
}{
	{0, 1, true, true, false},
	{1, 0, true, true, false},
	{1, 2, true, true, true},
	{2, 1, true, true, true},
	{0, 2, true, false, true},
	{2, 0, true, false, true},
	{0, 4, true, false, true},
	{4, 0, true, false, true},
	{1, 3, true, true, true},
	{4, 1, true, true, true},
}

// copier is the server that runs the copy: the kept level-0 server when
// stepping up from 0, else the new level's first server or its template.
func copier(t *testing.T, sim *Simulation, from, to int) Resource {
	t.Helper()
	switch {
	case from == 0:
		return sim.one(t, tInstance, "web-solo")
	case to == 0:
		return sim.one(t, tInstance, "web-solo")
	case to >= 3:
		return sim.one(t, tTemplate, "web")
	}
	return sim.one(t, tInstance, "web-0")
}

// levelServer is a plain level's server, whose settings the copy's
// target or source must match.
func levelServer(t *testing.T, sim *Simulation, n int) Resource {
	t.Helper()
	switch {
	case n == 0:
		return sim.one(t, tInstance, "web-solo")
	case n >= 3:
		return sim.one(t, tTemplate, "web")
	}
	return sim.one(t, tInstance, "web-0")
}

// copyEnv reads the copy.env a boot script writes, with the level-0
// password the script appends on the host set to password.
func copyEnv(t *testing.T, script, password string) map[string]string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "cat > /etc/webdemo/copy.env) <<'COPY'\n")
	block, after, ok2 := strings.Cut(rest, "\nCOPY\n")
	if !ok || !ok2 {
		t.Fatalf("the boot script writes no copy.env:\n%s", script)
	}
	env := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		k, v, _ := strings.Cut(line, "=")
		if unquoted, err := strconv.Unquote(v); err == nil {
			v = unquoted
		}
		env[k] = v
	}
	if name, _, ok := strings.Cut(strings.TrimPrefix(after, `echo "`), "=$(cat /etc/webdemo/mysql-password)\" >> /etc/webdemo/copy.env\n"); ok && strings.HasPrefix(after, `echo "`) {
		env[name] = password
	}
	return env
}

// lookupIn looks names up in env, as os.LookupEnv does in the process's.
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// copyUnit is the webdemo-copy.service the script installs, Key → Value.
func copyUnit(t *testing.T, script string) map[string]string {
	t.Helper()
	return scriptUnit(t, script, "webdemo-copy.service")
}

// scriptUnit is the systemd unit file name that the script installs,
// Key → Value.
func scriptUnit(t *testing.T, script, name string) map[string]string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "cat > /etc/systemd/system/"+name+" <<'UNIT'\n")
	block, _, ok2 := strings.Cut(rest, "\nUNIT\n")
	if !ok || !ok2 {
		t.Fatalf("the boot script installs no %s", name)
	}
	unit := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = v
		}
	}
	return unit
}

// TestMigrationKeepsBothStores: the first `pulumi up` builds the new level
// and keeps the old level's stores, with the role's grants and network
// paths for both; the second (without migrateFrom) deletes the old ones.
func TestMigrationKeepsBothStores(t *testing.T) {
	for _, step := range migrationSteps {
		t.Run(fmt.Sprintf("%d to %d", step.from, step.to), func(t *testing.T) {
			sim := simulateMigration(t, step.from, step.to)
			has := func(typ string) bool { return len(sim.ofType(typ)) > 0 }
			if has(tRDS) != step.rds || has(tEFS) != step.efs || len(sim.ofType(tBucket)) == 2 != step.s3 {
				t.Errorf("stores: RDS %v, EFS %v, uploads bucket %v; want %v, %v, %v",
					has(tRDS), has(tEFS), len(sim.ofType(tBucket)) == 2, step.rds, step.efs, step.s3)
			}
			if step.efs && (len(sim.ofType(tMountTarget)) != 2 || len(sim.ofType(tAccessPoint)) != 1) {
				t.Errorf("EFS without its 2 mount targets and access point: %d, %d", len(sim.ofType(tMountTarget)), len(sim.ofType(tAccessPoint)))
			}
			solo := slices.ContainsFunc(sim.ofType(tInstance), func(r Resource) bool { return r.Name == "web-solo" })
			if want := step.from == 0 || step.to == 0; solo != want || has(tEIP) != want {
				t.Errorf("level-0 server %v, Elastic IP %v; want %v", solo, has(tEIP), want)
			}

			// The role may use every store kept.
			sids := map[string]bool{}
			for _, s := range roleStatements(t, sim) {
				sids[s.Sid] = true
			}
			if sids["ReadDatabaseSecret"] != step.rds || sids["MountSharedUploads"] != step.efs || sids["ReadWriteUploads"] != step.s3 {
				t.Errorf("grants %v; want database %v, files %v, uploads %v", sids, step.rds, step.efs, step.s3)
			}

			// The copier is in the app's group, which the database and EFS
			// accept.
			server := copier(t, sim, step.from, step.to)
			groups := value(server, "vpcSecurityGroupIds")
			if !groups.IsArray() || !slices.ContainsFunc(groups.ArrayValue(), func(v resource.PropertyValue) bool { return v.IsString() && v.StringValue() == "network-app-id" }) {
				t.Errorf("%s is not in the app's security group: %v", server.Name, groups)
			}
			for _, path := range []struct {
				rule string
				want bool
			}{{"network-db-3306", step.rds}, {"network-efs-2049", step.efs}} {
				rules := slices.DeleteFunc(sim.ofType(tIngress), func(r Resource) bool { return r.Name != path.rule })
				if (len(rules) == 1) != path.want {
					t.Errorf("%s: %d rules, want %v", path.rule, len(rules), path.want)
					continue
				}
				if path.want && str(rules[0], "referencedSecurityGroupId") != "network-app-id" {
					t.Errorf("%s admits %v, not the app's group", path.rule, rules[0].Inputs)
				}
			}

			// The second up, without migrateFrom, deletes the old stores and
			// only them among the stores.
			final := simulate(t, step.to)
			deleted := map[string]bool{}
			for _, c := range Compare(sim, final) {
				if c.Op == OpDelete {
					deleted[c.Resource.Type+" "+c.Resource.Name] = true
				}
			}
			src, dst := level.Table[step.from], level.Table[step.to]
			for _, store := range []struct {
				key       string
				old, kept bool
			}{
				{tRDS + " database", src.ManagedDatabase, dst.ManagedDatabase},
				{tEFS + " storage-uploads", src.SharedFiles, dst.SharedFiles},
				{tBucket + " storage-uploads", src.ObjectStorage, dst.ObjectStorage},
				{tInstance + " web-solo", step.from == 0, step.to == 0},
			} {
				if want := store.old && !store.kept; deleted[store.key] != want {
					t.Errorf("second up deletes %s: %v, want %v", store.key, deleted[store.key], want)
				}
			}
			// The first up deletes no store of the old level.
			for _, c := range Compare(simulate(t, step.from), sim) {
				store := slices.Contains([]string{tRDS, tEFS, tBucket, tEIP}, c.Resource.Type) || c.Resource.Name == "web-solo"
				if c.Op == OpDelete && store {
					t.Errorf("the first up deletes %s %s", c.Resource.Type, c.Resource.Name)
				}
			}
		})
	}
}

// TestMigrationCopyEnvLoadsBack: copy.env, read by the app's own loaders
// (config.Load for the TARGET, config.LoadSource for the FROM_ lines),
// gives the settings of the plain target level's servers and of the plain
// source level's servers.
func TestMigrationCopyEnvLoadsBack(t *testing.T) {
	const password = "made-on-the-host"
	for _, step := range migrationSteps {
		t.Run(fmt.Sprintf("%d to %d", step.from, step.to), func(t *testing.T) {
			sim := simulateMigration(t, step.from, step.to)
			script := userData(t, copier(t, sim, step.from, step.to))
			env := copyEnv(t, script, password)
			target, err := appconfig.Load(nil, lookupIn(env), io.Discard)
			if err != nil {
				t.Fatalf("copy.env's target: %v", err)
			}
			source, err := appconfig.LoadSource(target, lookupIn(env))
			if err != nil {
				t.Fatalf("copy.env's source: %v", err)
			}
			want := func(n int) appconfig.Config {
				cfg, _ := appSettings(t, userData(t, levelServer(t, simulate(t, n), n)))
				if n == 0 {
					cfg.MySQLPassword = password
				}
				return cfg
			}
			wantTarget := want(step.to)
			if got, want := fmt.Sprintf("%+v", target), fmt.Sprintf("%+v", wantTarget); got != want {
				t.Errorf("target:\n got %s\nwant %s", got, want)
			}
			// The source is the target with the old level's stores: its
			// database and uploads settings are the plain old level's.
			wantSource, old := wantTarget, want(step.from)
			wantSource.DBDriver, wantSource.MySQLDSN, wantSource.MySQLHost, wantSource.MySQLPort = old.DBDriver, old.MySQLDSN, old.MySQLHost, old.MySQLPort
			wantSource.MySQLDatabase, wantSource.MySQLUser, wantSource.MySQLPassword = old.MySQLDatabase, old.MySQLUser, old.MySQLPassword
			wantSource.MySQLSecretARN, wantSource.MySQLTLSCAFile = old.MySQLSecretARN, old.MySQLTLSCAFile
			wantSource.Storage, wantSource.UploadDir, wantSource.S3Bucket, wantSource.S3Prefix = old.Storage, old.UploadDir, old.S3Bucket, old.S3Prefix
			if step.from >= 1 && step.to == 0 {
				// The source's password is its secret's; the target's
				// password, left to it, is ignored beside the secret ARN.
				wantSource.MySQLPassword = password
			}
			if got, want := fmt.Sprintf("%+v", source), fmt.Sprintf("%+v", wantSource); got != want {
				t.Errorf("source:\n got %s\nwant %s", got, want)
			}

			unit := copyUnit(t, script)
			for key, want := range map[string]string{
				"Type": "oneshot", "EnvironmentFile": "/etc/webdemo/copy.env", "ExecStart": "/usr/local/bin/webdemo copy",
				"Restart": "on-failure", "StandardOutput": "append:" + appLog, "User": "webdemo",
			} {
				if unit[key] != want {
					t.Errorf("webdemo-copy.service %s=%q, want %q", key, unit[key], want)
				}
			}
			if !strings.Contains(unit["After"], "webdemo.service") {
				t.Errorf("the copy does not wait for the app's install: After=%s", unit["After"])
			}
			if strings.Index(script, "systemctl restart webdemo.service") > strings.Index(script, "webdemo-copy.service") {
				t.Error("the copy unit is installed before the app")
			}
			// The copier reaches both sides: EFS mounted and the RDS CA
			// fetched when either side needs them.
			if mounts := strings.Contains(script, "amazon-efs-utils"); mounts != step.efs {
				t.Errorf("mounts EFS: %v, want %v", mounts, step.efs)
			}
			if !strings.Contains(script, rdsCAURL) {
				t.Error("the copier does not fetch the RDS CA")
			}
			if step.efs && unit["ReadWritePaths"] != filesMount {
				t.Errorf("the copy may not write EFS: ReadWritePaths=%q", unit["ReadWritePaths"])
			}
			// With EFS on either side, neither the copy nor an app keeping
			// its uploads there runs without the mount: RequiresMountsFor=
			// adds Requires= and After= on the mount units (systemd.unit(5)),
			// where After=remote-fs.target only orders.
			wantCopyMount, wantAppMount := "", ""
			if step.efs {
				wantCopyMount = filesMount
			}
			if app, _ := appSettings(t, script); app.Storage == appconfig.StorageDisk && app.UploadDir == filesUploadDir {
				wantAppMount = filesMount
			}
			if got := unit["RequiresMountsFor"]; got != wantCopyMount {
				t.Errorf("webdemo-copy.service RequiresMountsFor=%q, want %q", got, wantCopyMount)
			}
			if got := scriptUnit(t, script, "webdemo.service")["RequiresMountsFor"]; got != wantAppMount {
				t.Errorf("webdemo.service RequiresMountsFor=%q, want %q", got, wantAppMount)
			}

			// A copy that left photos behind fails the same way at once:
			// systemd restarts on any other failure, not on that one.
			if unit["Restart"] != "on-failure" || unit["RestartPreventExitStatus"] != fmt.Sprint(photocopy.ExitIncomplete) {
				t.Errorf("webdemo-copy.service Restart=%q RestartPreventExitStatus=%q, want on-failure and %d",
					unit["Restart"], unit["RestartPreventExitStatus"], photocopy.ExitIncomplete)
			}

			// Photos uploaded to the old servers after the first copy: a
			// timer runs it again a while after each run, and is enabled
			// to survive a reboot.
			timer := scriptUnit(t, script, "webdemo-copy.timer")
			if timer["OnUnitInactiveSec"] == "" || timer["WantedBy"] != "timers.target" || (timer["Unit"] != "" && timer["Unit"] != "webdemo-copy.service") {
				t.Errorf("webdemo-copy.timer does not rerun the copy after each run: %v", timer)
			}
			for _, want := range []string{"systemctl enable webdemo-copy.service webdemo-copy.timer", "systemctl restart webdemo-copy.timer"} {
				if !strings.Contains(script, want) {
					t.Errorf("the boot script lacks %q", want)
				}
			}
		})
	}
}

// TestMigrationFromLevelZeroUpdatesTheServerInPlace: stepping up from level
// 0 keeps its server, with its URN and every input that would replace it
// (forceNewRules), and its Elastic IP: only the user-data changes, in place.
// The app on it runs as before; the second up deletes it.
func TestMigrationFromLevelZeroUpdatesTheServerInPlace(t *testing.T) {
	zero := simulate(t, 0)
	for _, to := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("0 to %d", to), func(t *testing.T) {
			sim := simulateMigration(t, 0, to)
			before, after := zero.one(t, tInstance, "web-solo"), sim.one(t, tInstance, "web-solo")
			if before.Key() != after.Key() {
				t.Fatalf("URN %s becomes %s", before.Key(), after.Key())
			}
			for _, path := range forceNewRules[tInstance].paths {
				if pathChanged(before.Inputs, after.Inputs, splitInputPath(path)) {
					t.Errorf("%s changes: the server would be replaced", path)
				}
			}
			if str(after, "userDataReplaceOnChange") != "false" {
				t.Error("userDataReplaceOnChange is not false: the new user-data replaces the server")
			}
			changes := Compare(zero, sim)
			c, ok := changeOf(changes, tInstance, "web-solo")
			if !ok || c.Op != OpUpdate || !slices.Equal(c.Fields, []string{"userData"}) {
				t.Errorf("web-solo: %v %v %q, want an update of userData alone", c.Op, c.Fields, c.Reason)
			}
			if c, ok := changeOf(changes, tEIP, "web"); ok {
				t.Errorf("the Elastic IP changes: %v %q", c.Op, c.Reason)
			}
			// The app keeps its level-0 settings.
			got, _ := appSettings(t, userData(t, after))
			want, _ := appSettings(t, userData(t, before))
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Errorf("the kept server's app settings change:\n got %+v\nwant %+v", got, want)
			}
			// The new level's servers do not copy: the level-0 server pushes.
			if script := userData(t, levelServer(t, sim, to)); strings.Contains(script, "webdemo-copy.service <<") || strings.Contains(script, "webdemo-copy.timer <<") {
				t.Error("the new level's servers run a copy too")
			}
		})
	}
}

// TestMigrationOutput: while migrating, the stack says how to read the
// copy's final line from CloudWatch Logs; otherwise it says nothing. Its
// filter pattern finds only the line of a copy that copied every photo,
// not a progress line nor the last line of a stopped or incomplete copy:
// the learner deletes the source once it shows.
func TestMigrationOutput(t *testing.T) {
	sim := simulateMigration(t, 1, 2)
	command, _ := sim.Outputs["migration"].(string)
	// aws logs tail prints each event's time, which the learner compares
	// with when the first up finished; it reads 10 minutes back unless
	// --since says otherwise (AWS CLI reference, "logs tail":
	// https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html).
	for _, want := range []string{"aws logs tail " + fmt.Sprint(sim.Outputs["logGroup"]) + " ",
		"--region " + MockRegion, "--since 1h", "--filter-pattern " + copyDonePattern} {
		if !strings.Contains(command, want) {
			t.Errorf("migration output %q lacks %q", command, want)
		}
	}
	if _, ok := simulate(t, 2).Outputs["migration"]; ok {
		t.Error("a stack not migrating has a migration output")
	}

	// The pattern as the shell passes it: single-quoted, so unchanged.
	pattern, ok := strings.CutPrefix(copyDonePattern, "'")
	pattern, ok2 := strings.CutSuffix(pattern, "'")
	if !ok || !ok2 || strings.Contains(pattern, "'") {
		t.Fatalf("copyDonePattern %s is not one single-quoted shell word", copyDonePattern)
	}
	// Terms are matched case-sensitively, all of them; a term in double
	// quotes is an exact phrase ("Filter pattern syntax for metric filters,
	// subscription filters, filter log events, and Live Tail", CloudWatch
	// Logs guide: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
	// Only quoted phrases are interpreted here; anything else fails.
	matches := func(line string) bool {
		rest := strings.TrimSpace(pattern)
		if rest == "" {
			t.Fatal("copyDonePattern is empty: it matches every line")
		}
		for rest != "" {
			phrase, after, ok := strings.Cut(strings.TrimPrefix(rest, `"`), `"`)
			if !strings.HasPrefix(rest, `"`) || !ok {
				t.Fatalf("copyDonePattern %s: %q is not a quoted phrase", copyDonePattern, rest)
			}
			if !strings.Contains(line, phrase) {
				return false
			}
			rest = strings.TrimSpace(after)
		}
		return true
	}
	// The lines `webdemo copy` writes (app/copy_cmd.go; its tests check
	// the app writes them so).
	for line, want := range map[string]bool{
		"copy complete: copied 3, skipped 40 already present, 0 failed":   true,
		"so far: copied 3, skipped 40 already present, 0 failed":          false,
		"copy stopped: copied 3, skipped 40 already present, 0 failed":    false,
		"copy incomplete: copied 3, skipped 40 already present, 1 failed": false,
		"failed k.png (uploaded by \"ada\"): its image is missing":        false,
	} {
		if got := matches(line); got != want {
			t.Errorf("the migration output's pattern %s matches %q: %v, want %v", copyDonePattern, line, got, want)
		}
	}
}

// TestMigrateFromErrors: a migrateFrom that cannot work fails in one line
// naming the setting and what to do.
func TestMigrateFromErrors(t *testing.T) {
	for _, tc := range []struct {
		config map[string]string
		want   string
	}{
		{migrationConfig(2, 4), "web-demo:migrateFrom: levels 2 and 4 keep photos in the same stores (RDS and S3): step without it"},
		{migrationConfig(4, 2), "web-demo:migrateFrom: levels 4 and 2 keep photos in the same stores"},
		{migrationConfig(3, 2), "web-demo:migrateFrom: levels 3 and 2 keep photos in the same stores"},
		{migrationConfig(1, 1), "web-demo:migrateFrom: 1 is the level itself"},
		{migrationConfig(0, 0), "web-demo:migrateFrom: 0 is the level itself"},
		{migrationConfig(5, 1), "web-demo:migrateFrom: 5 is not a level: use the level the photos are on now, 0 to 4"},
		{migrationConfig(-1, 1), "web-demo:migrateFrom: -1 is not a level"},
		{map[string]string{"level": "1", "migrateFrom": "zero"}, `web-demo:migrateFrom: "zero" is not a level, 0 to 4`},
		{map[string]string{"level": "1", "migrateFrom": "0", "unsharedState": "true"}, "web-demo:migrateFrom: does not work with unsharedState"},
	} {
		wantOneLineError(t, tc.config, tc.want)
	}
}

// TestNoMigrationRemovesALeftoverCopy: without migrateFrom the script
// removes a copy unit an earlier migration installed (the level-0 server
// is updated in place, so it may hold one).
func TestNoMigrationRemovesALeftoverCopy(t *testing.T) {
	script := userData(t, simulate(t, 0).one(t, tInstance, "web-solo"))
	if !strings.Contains(script, "systemctl disable --now webdemo-copy.service") || strings.Contains(script, "<<'COPY'") {
		t.Error("level 0 without migrateFrom neither removes a leftover copy unit nor stays without one")
	}
	if strings.Contains(script, "webdemo-copy.timer <<") {
		t.Error("level 0 without migrateFrom installs the copy's timer")
	}
	// The timer goes first, or it could start the copy again; the copy
	// goes before the EFS it may be reading is unmounted.
	timer := strings.Index(script, "systemctl disable --now webdemo-copy.timer")
	service := strings.Index(script, "systemctl disable --now webdemo-copy.service")
	unmount := strings.Index(script, "umount "+filesMount)
	if timer < 0 || unmount < 0 || !(timer < service && service < unmount) {
		t.Errorf("the leftover copy's timer (at %d), copy (at %d) and EFS mount (at %d) are not removed in that order", timer, service, unmount)
	}
	if !strings.Contains(script, "rm -f /etc/systemd/system/webdemo-copy.timer") {
		t.Error("the leftover copy's timer file is not removed")
	}
}

// TestMigrationServerOutput: stepping up from 0 the copy runs on the kept
// level-0 server, which no other output names, so the stack says how to
// reach it; pulling servers are the level's own.
func TestMigrationServerOutput(t *testing.T) {
	for _, to := range []int{1, 2, 4} {
		sim := simulateMigration(t, 0, to)
		kept := sim.one(t, tInstance, "web-solo")
		if got, want := sim.Outputs["migrationServer"], "aws ssm start-session --target "+kept.ID; got != want {
			t.Errorf("0 → %d: migrationServer = %v, want %q", to, got, want)
		}
	}
	for _, step := range [][2]int{{1, 2}, {2, 0}} {
		if got, ok := simulateMigration(t, step[0], step[1]).Outputs["migrationServer"]; ok {
			t.Errorf("%d → %d: migrationServer = %v; the copy runs on the level's own servers", step[0], step[1], got)
		}
	}
}
