package stack

// The app calls AWS with the instance role's credentials. Mocks never
// evaluate IAM, so a call the role policy does not grant fails only on
// AWS, as AccessDenied at run time. This test finds every AWS API
// operation in the app binary's source and holds each level's role policy
// to granting it, on the resource the level's settings point at.

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	appconfig "webdemo/app/config"
)

// sdkServicePrefix is where aws-sdk-go-v2 keeps its service clients; the
// last path element names the service (s3, ssm, secretsmanager).
const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// appTarget is what an operation acts on, as the level's settings say.
type appTarget int

const (
	uploadObject     appTarget = iota // an object under S3_PREFIX in S3_BUCKET
	uploadBucket                      // S3_BUCKET itself, for listing
	databaseSecret                    // MYSQL_SECRET_ARN
	latencyParameter                  // the SSM parameter named LATENCY_SSM_PARAM
)

// appIAMGrant is the IAM action an SDK operation needs.
type appIAMGrant struct {
	action string
	on     appTarget
	doc    string
}

// appIAMGrants maps each SDK operation the app may call to its IAM action,
// from the Service Authorization Reference. A presigned GetObject runs with
// the presigner's credentials when the browser uses the URL, so it needs
// s3:GetObject too (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
// An operation missing here fails the test: add it from the reference,
// then grant it in identity.go.
var appIAMGrants = map[string]appIAMGrant{
	"s3.GetObject":    {"s3:GetObject", uploadObject, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"},
	"s3.PutObject":    {"s3:PutObject", uploadObject, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"},
	"s3.DeleteObject": {"s3:DeleteObject", uploadObject, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"},
	// HeadObject needs s3:GetObject; it has no action of its own
	// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
	"s3.HeadObject": {"s3:GetObject", uploadObject, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"},
	// ListObjectsV2 is authorized as s3:ListBucket on the bucket
	// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
	"s3.ListObjectsV2": {"s3:ListBucket", uploadBucket, "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"},
	"secretsmanager.GetSecretValue": {"secretsmanager:GetSecretValue", databaseSecret,
		"https://docs.aws.amazon.com/IAM/latest/UserGuide/list_awssecretsmanager.html"},
	"ssm.GetParameter": {"ssm:GetParameter", latencyParameter,
		"https://docs.amazonaws.cn/en_us/service-authorization/latest/reference/list_awssystemsmanager.md"},
}

// appKnownCalls are the operations the app is known to call today. If the
// scan stops finding one, the scan is broken (or the app changed, and this
// list with it).
var appKnownCalls = []string{"s3.PutObject", "s3.GetObject", "s3.HeadObject", "s3.DeleteObject", "s3.ListObjectsV2", "secretsmanager.GetSecretValue", "ssm.GetParameter"}

func TestRolePolicyCoversEveryAWSCallTheAppMakes(t *testing.T) {
	scan := scanAppAWSCalls(t)
	for _, known := range appKnownCalls {
		if _, ok := scan.calls[known]; !ok {
			t.Errorf("the scan of app/ no longer finds %s: fix the scan, or appKnownCalls if the app stopped calling it", known)
		}
	}
	var keys []string
	for key, call := range scan.calls {
		keys = append(keys, key)
		if _, ok := appIAMGrants[key]; !ok {
			t.Errorf("%s calls %s, which has no IAM action in appIAMGrants: add it from the Service Authorization Reference, and grant it in identity.go", call.where, key)
		}
	}
	sort.Strings(keys)
	t.Logf("AWS operations in the app: %v", keys)

	for n := range 5 {
		sim := simulate(t, n)
		cfg := levelAppSettings(t, sim)
		policy := rolePolicyStatements(t, sim)
		for _, key := range keys {
			grant, ok := appIAMGrants[key]
			if !ok {
				continue
			}
			arn, used, err := appTargetARN(grant.on, cfg, sim)
			if err != nil {
				t.Errorf("level %d: %s: %v", n, key, err)
				continue
			}
			if !used {
				continue // this level's settings never reach the call
			}
			if !policyAllows(policy, grant.action, arn) {
				t.Errorf("level %d: the app calls %s (%s), which needs %s on %s; the role policy does not grant it (%s)",
					n, key, scan.calls[key].where, grant.action, arn, grant.doc)
			}
		}
		if scan.noSuchKey != "" && cfg.Storage == appconfig.StorageS3 {
			checkListBucketForMissingKeys(t, n, scan.noSuchKey, cfg, sim, policy)
		}
	}
}

// checkListBucketForMissingKeys: the app tells a missing upload by S3's
// NoSuchKey. Without s3:ListBucket, S3 answers a missing key with 403
// AccessDenied instead of 404 NoSuchKey
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), so
// the role needs ListBucket on the bucket. The grant carries no condition:
// that page does not say a request-key condition such as s3:prefix is
// satisfied by GetObject's check, and the uploads bucket holds nothing but
// uploads.
func checkListBucketForMissingKeys(t *testing.T, level int, where string, cfg appconfig.Config, sim *Simulation, policy []awsStatement) {
	t.Helper()
	bucketARN, err := bucketARNFor(cfg.S3Bucket, sim)
	if err != nil {
		t.Errorf("level %d: %v", level, err)
		return
	}
	for _, s := range policy {
		if s.Effect == "Allow" && patternsMatch(s.Action, "s3:ListBucket", true) && patternsMatch(s.Resource, bucketARN, false) && len(s.Condition) == 0 {
			return
		}
	}
	t.Errorf("level %d: the app tells missing uploads by NoSuchKey (%s), but the role policy grants no unconditional s3:ListBucket on %s: S3 answers 403 AccessDenied instead (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)",
		level, where, bucketARN)
}

// levelAppSettings are the settings the level's servers run the app with.
func levelAppSettings(t *testing.T, sim *Simulation) appconfig.Config {
	t.Helper()
	servers := append(sim.ofType(tInstance), sim.ofType(tTemplate)...)
	if len(servers) == 0 {
		t.Fatal("no instance or launch template")
	}
	cfg, _ := appSettings(t, userData(t, servers[0]))
	return cfg
}

// rolePolicyStatements are the statements of every inline role policy.
func rolePolicyStatements(t *testing.T, sim *Simulation) []awsStatement {
	t.Helper()
	var out []awsStatement
	for _, r := range sim.ofType(tRolePolicy) {
		p, err := parseAWSPolicy(textAt(r, "policy"))
		if err != nil {
			t.Fatalf("%s: the role policy is not JSON: %v", r.Name, err)
		}
		out = append(out, p.Statement...)
	}
	return out
}

// appTargetARN is the ARN an operation acts on at this level, and whether
// the level's settings reach it at all.
func appTargetARN(on appTarget, cfg appconfig.Config, sim *Simulation) (arn string, used bool, err error) {
	switch on {
	case uploadObject:
		if cfg.Storage != appconfig.StorageS3 {
			return "", false, nil
		}
		bucket, err := bucketARNFor(cfg.S3Bucket, sim)
		// A key as the app writes it: the prefix, then the photo's key.
		return bucket + "/" + cfg.S3Prefix + "0123456789abcdef.jpg", true, err
	case uploadBucket:
		if cfg.Storage != appconfig.StorageS3 {
			return "", false, nil
		}
		bucket, err := bucketARNFor(cfg.S3Bucket, sim)
		return bucket, true, err
	case databaseSecret:
		return cfg.MySQLSecretARN, cfg.MySQLSecretARN != "", nil
	case latencyParameter:
		if cfg.LatencySSMParam == "" {
			return "", false, nil
		}
		for _, r := range sim.ofType(tParameter) {
			if stateText(r, "name") == cfg.LatencySSMParam {
				return stateText(r, "arn"), true, nil
			}
		}
		return "", true, fmt.Errorf("no SSM parameter named %q in the stack", cfg.LatencySSMParam)
	}
	return "", false, fmt.Errorf("unknown target %d", on)
}

func bucketARNFor(bucket string, sim *Simulation) (string, error) {
	for _, r := range sim.ofType(tBucket) {
		if stateText(r, "bucket") == bucket {
			return stateText(r, "arn"), nil
		}
	}
	return "", fmt.Errorf("no bucket %q in the stack", bucket)
}

// policyAllows: an Allow without conditions matches, and no Deny does.
func policyAllows(policy []awsStatement, action, arn string) bool {
	allowed := false
	for _, s := range policy {
		if !patternsMatch(s.Action, action, true) || !patternsMatch(s.Resource, arn, false) {
			continue
		}
		switch {
		case s.Effect == "Deny":
			return false
		case s.Effect == "Allow" && len(s.Condition) == 0:
			allowed = true
		}
	}
	return allowed
}

// patternsMatch matches IAM patterns (* and ?) against a value; actions
// are case-insensitive.
func patternsMatch(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		expr := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if foldCase {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile(expr).MatchString(value) {
			return true
		}
	}
	return false
}

// --- Scanning the app ----------------------------------------------------

// appCall is one AWS API operation the app's binary may call.
type appCall struct {
	service, operation string
	where              string // file:line of its first use
}

type appScan struct {
	calls map[string]appCall // by "service.Operation"
	// noSuchKey is where the app tests for S3's NoSuchKey, if it does.
	noSuchKey string
}

// scanAppAWSCalls parses every package the app binary is built from
// (app/ and the webdemo/app/... packages it imports, tests left out) and
// finds each AWS operation it may call: every use of an SDK service's
// <Operation>Input type (a call, a presign, a paginator or a waiter
// takes one), and every call passing nil as the input to a method named
// after one of the service's operations.
func scanAppAWSCalls(t *testing.T) appScan {
	t.Helper()
	root, module := moduleRoot(t)
	scan := appScan{calls: map[string]appCall{}}
	fset := token.NewFileSet()
	queue, seen := []string{module + "/app"}, map[string]bool{}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		dir := filepath.Join(root, strings.TrimPrefix(pkg, module))
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("package %s: no Go files in %s", pkg, dir)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			services := map[string]string{} // local name → service
			for _, imp := range f.Imports {
				importPath, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(importPath, module+"/app") {
					queue = append(queue, importPath)
				}
				if service, ok := strings.CutPrefix(importPath, sdkServicePrefix); ok && !strings.Contains(service, "/") {
					name := service
					if imp.Name != nil {
						name = imp.Name.Name
					}
					services[name] = service
				}
			}
			rel, _ := filepath.Rel(root, path)
			scanFile(t, fset, f, rel, services, &scan)
		}
	}
	return scan
}

// scanFile records the AWS operations one file uses.
func scanFile(t *testing.T, fset *token.FileSet, f *ast.File, rel string, services map[string]string, scan *appScan) {
	record := func(service, operation string, pos token.Pos) {
		key := service + "." + operation
		if _, ok := scan.calls[key]; !ok {
			scan.calls[key] = appCall{service: service, operation: operation, where: rel + ":" + strconv.Itoa(fset.Position(pos).Line)}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			// svc.GetObjectInput: the input of the GetObject operation.
			pkg, ok := n.X.(*ast.Ident)
			if !ok || services[pkg.Name] == "" {
				return true
			}
			if op, ok := strings.CutSuffix(n.Sel.Name, "Input"); ok && op != "" && sdkHasOperation(t, services[pkg.Name], op) {
				record(services[pkg.Name], op, n.Pos())
			}
		case *ast.CallExpr:
			// client.ListBuckets(ctx, nil): an operation without an input.
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) < 2 {
				return true
			}
			if arg, ok := n.Args[1].(*ast.Ident); !ok || arg.Name != "nil" {
				return true
			}
			op := strings.TrimPrefix(sel.Sel.Name, "Presign")
			for _, service := range services {
				if sdkHasOperation(t, service, op) {
					record(service, op, n.Pos())
				}
			}
		case *ast.BasicLit:
			if s, err := strconv.Unquote(n.Value); err == nil && s == "NoSuchKey" && scan.noSuchKey == "" {
				scan.noSuchKey = rel + ":" + strconv.Itoa(fset.Position(n.Pos()).Line)
			}
		}
		return true
	})
}

var (
	sdkOpsMu sync.Mutex
	sdkOps   = map[string]map[string]bool{}
)

// sdkHasOperation: the SDK keeps one api_op_<Operation>.go file per
// operation in each service package, found with `go list`.
func sdkHasOperation(t *testing.T, service, op string) bool {
	t.Helper()
	sdkOpsMu.Lock()
	defer sdkOpsMu.Unlock()
	ops, ok := sdkOps[service]
	if !ok {
		out, err := exec.Command("go", "list", "-f", "{{.Dir}}", sdkServicePrefix+service).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", sdkServicePrefix+service, err)
		}
		files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "api_op_*.go"))
		ops = map[string]bool{}
		for _, f := range files {
			ops[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "api_op_"), ".go")] = true
		}
		if len(ops) == 0 {
			t.Fatalf("no api_op_*.go files for %s: the SDK's layout changed", service)
		}
		sdkOps[service] = ops
	}
	return ops[op]
}

// moduleRoot finds go.mod above the test's directory.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			defer f.Close()
			lines := bufio.NewScanner(f)
			for lines.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(lines.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
