package stack

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The levels tool shows the app's settings that change between levels,
// decoded from the servers' user-data, with the app's defaults for the
// settings the user-data leaves out.
func TestSettingChangesBetweenLevels(t *testing.T) {
	changes, err := SettingChanges(simulate(t, 3), simulate(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changes, []string{"PAGE_CACHE: off → memcached"}) {
		t.Errorf("3 → 4 settings: %v", changes)
	}
	changes, err = SettingChanges(simulate(t, 1), simulate(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STORAGE: disk → s3", "S3_BUCKET: \"\" → storage-uploads-bucket", "UPLOAD_DIR: /mnt/uploads → data/uploads"} {
		if !slices.Contains(changes, want) {
			t.Errorf("1 → 2 settings lack %q: %v", want, changes)
		}
	}
	var out bytes.Buffer
	WriteDiff(&out, 3, 4, simulate(t, 3), simulate(t, 4))
	if !strings.Contains(out.String(), "  app settings: 1 change\n     PAGE_CACHE: off → memcached\n") {
		t.Errorf("diff output:\n%s", out.String())
	}
	out.Reset()
	WriteDiff(&out, 2, 3, simulate(t, 2), simulate(t, 3))
	if !strings.Contains(out.String(), "  app settings: no changes\n") {
		t.Errorf("2 → 3 changes no setting, but:\n%s", out.String())
	}
}
