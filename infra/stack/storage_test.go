package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	sim := simulate(t, 2)
	buckets := sim.ofType(tBucket)
	if len(buckets) != 2 {
		t.Fatalf("%d buckets", len(buckets))
	}
	for _, b := range buckets {
		if str(b, "forceDestroy") != "true" {
			t.Errorf("%s: destroy would fail on a non-empty bucket", b.Name)
		}
		block := sim.one(t, tAccessBlock, b.Name)
		for _, flag := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if str(block, flag) != "true" {
				t.Errorf("%s: %s is off", b.Name, flag)
			}
		}
		if str(sim.one(t, tEncryption, b.Name), "rules.applyServerSideEncryptionByDefault.sseAlgorithm") != "AES256" {
			t.Errorf("%s is not encrypted", b.Name)
		}
		if str(sim.one(t, tLifecycle, b.Name), "rules.abortIncompleteMultipartUpload.daysAfterInitiation") != "1" {
			t.Errorf("%s keeps stray multipart uploads", b.Name)
		}
		policy := policyStatements(t, str(sim.one(t, tBucketPolicy, b.Name), "policy"))
		arn := "arn:aws:s3:::" + b.Name + "-bucket"
		if len(policy) != 1 || policy[0].Effect != "Deny" || policy[0].Condition["Bool"]["aws:SecureTransport"] != "false" ||
			!slices.Equal(policy[0].Resource, []string{arn, arn + "/*"}) {
			t.Errorf("%s policy is not TLS-only: %+v", b.Name, policy)
		}
	}
}

func TestSharedFilesAreEncryptedAndTLSOnly(t *testing.T) {
	sim := simulate(t, 1)
	if str(sim.one(t, tEFS, "storage-uploads"), "encrypted") != "true" {
		t.Error("EFS is not encrypted")
	}
	policy := policyStatements(t, str(sim.one(t, "aws:efs/fileSystemPolicy:FileSystemPolicy", "storage-uploads"), "policy"))
	if len(policy) != 1 || policy[0].Effect != "Deny" || policy[0].Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("EFS policy is not TLS-only: %+v", policy)
	}
	for _, mt := range sim.ofType(tMountTarget) {
		subnet, _ := sim.byID(str(mt, "subnetId"))
		if !strings.Contains(subnet.Name, "private") {
			t.Errorf("mount target %s in %s", mt.Name, subnet.Name)
		}
	}
	for _, instance := range sim.ofType(tInstance) {
		script := userData(t, instance)
		if !strings.Contains(script, "efs _netdev,noresvport,tls,iam,accesspoint=fsap-storage-uploads ") {
			t.Error("EFS is not mounted with TLS through the access point")
		}
		mounts := 0
		for _, urn := range instance.DependsOn {
			if strings.Contains(urn, "aws:efs/mountTarget:MountTarget") {
				mounts++
			}
		}
		if mounts != 2 {
			t.Errorf("%s boots before its EFS mount targets exist (depends on %v)", instance.Name, instance.DependsOn)
		}
	}
}

// EFS mounted with IAM squashes root, so the instances reach it through an
// access point that writes as the app's pinned user.
func TestSharedFilesThroughAnAccessPoint(t *testing.T) {
	sim := simulate(t, 1)
	ap := sim.one(t, tAccessPoint, "storage-uploads")
	uid := fmt.Sprint(appUserID)
	for path, want := range map[string]string{
		"fileSystemId": "storage-uploads-id", "posixUser.uid": uid, "posixUser.gid": uid,
		"rootDirectory.creationInfo.ownerUid": uid, "rootDirectory.creationInfo.ownerGid": uid,
		"rootDirectory.creationInfo.permissions": "0750",
	} {
		if got := str(ap, path); got != want {
			t.Errorf("access point %s = %q, want %q", path, got, want)
		}
	}
	script := userData(t, sim.ofType(tInstance)[0])
	if !strings.Contains(script, "useradd --system --uid "+uid+" ") || !strings.Contains(script, "groupadd --system --gid "+uid+" ") {
		t.Error("the app user's uid is not pinned to the access point's")
	}
	if strings.Contains(script, "install -d -o webdemo") {
		t.Error("root writes to the shared mount, where it is squashed")
	}
	for _, s := range roleStatements(t, sim) {
		if s.Sid == "MountSharedUploads" && s.Condition["StringEquals"]["elasticfilesystem:AccessPointArn"] != "arn:aws:efs:us-east-1:123456789012:storage-uploads" {
			t.Errorf("mounting is not limited to the access point: %v", s.Condition)
		}
	}
}

// BucketKeyEnabled only applies to SSE-KMS; with SSE-S3 it is noise.
func TestNoBucketKeyWithS3ManagedKeys(t *testing.T) {
	for _, r := range simulate(t, 2).ofType(tEncryption) {
		if got := str(r, "rules.bucketKeyEnabled"); got != "" {
			t.Errorf("%s sets bucketKeyEnabled = %s with AES256", r.Name, got)
		}
	}
}
