package stack

import (
	"testing"
)

func TestDatabase(t *testing.T) {
	for n := 1; n <= 4; n++ {
		sim := simulate(t, n)
		db := sim.one(t, tRDS, "database")
		for path, want := range map[string]string{
			"publiclyAccessible": "false", "storageEncrypted": "true", "manageMasterUserPassword": "true",
			"skipFinalSnapshot": "true", "backupRetentionPeriod": "7", "autoMinorVersionUpgrade": "true",
			"deletionProtection": "false", "multiAz": "false", "engine": "mysql",
			"engineVersion": "8.4", "engineLifecycleSupport": "open-source-rds-extended-support-disabled",
		} {
			if got := str(db, path); got != want {
				t.Errorf("level %d: RDS %s = %q, want %q", n, path, got, want)
			}
		}
		if str(db, "password") != "" {
			t.Errorf("level %d: a master password is in the program", n)
		}
		params := sim.one(t, tParamGroup, "database")
		if str(params, "family") != "mysql8.4" {
			t.Errorf("level %d: parameter group family %s does not match MySQL 8.4", n, str(params, "family"))
		}
		if str(params, "parameters.name") != "require_secure_transport" || str(params, "parameters.value") != "1" {
			t.Errorf("level %d: the parameter group does not require TLS", n)
		}
	}
	sim := simulateWith(t, map[string]string{"level": "1", "multiAz": "true", "deletionProtection": "true"})
	db := sim.one(t, tRDS, "database")
	if str(db, "multiAz") != "true" || str(db, "deletionProtection") != "true" {
		t.Error("multiAz and deletionProtection options are not applied")
	}
	if str(sim.one(t, tALB, "web"), "enableDeletionProtection") != "true" {
		t.Error("deletionProtection does not reach the ALB")
	}
}
