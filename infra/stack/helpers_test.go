package stack

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	appconfig "webdemo/app/config"
)

var (
	simsMu sync.Mutex
	sims   = map[int]*Simulation{}
)

// simulate runs a level once per test binary; the runs are shared.
func simulate(t *testing.T, n int) *Simulation {
	t.Helper()
	simsMu.Lock()
	defer simsMu.Unlock()
	if sim, ok := sims[n]; ok {
		return sim
	}
	sim, err := Simulate(LevelConfig(n), Options{BuildApp: StandInArtifact})
	if err != nil {
		t.Fatalf("level %d: %v", n, err)
	}
	sims[n] = sim
	return sim
}

func simulateWith(t *testing.T, config map[string]string) *Simulation {
	t.Helper()
	sim, err := Simulate(config, Options{BuildApp: StandInArtifact})
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func (s *Simulation) ofType(typ string) []Resource {
	var out []Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func (s *Simulation) one(t *testing.T, typ, name string) Resource {
	t.Helper()
	for _, r := range s.ofType(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return Resource{}
}

// byID finds the resource whose mock id is id.
func (s *Simulation) byID(id string) (Resource, bool) {
	for _, r := range s.Resources {
		if r.Name+"-id" == id || "i-"+r.Name == id || r.Name+"-bucket" == id || "fsap-"+r.Name == id || "eipalloc-"+r.Name == id {
			return r, true
		}
	}
	return Resource{}, false
}

// value reads a nested input by path such as "metadataOptions.httpTokens".
func value(r Resource, path string) resource.PropertyValue {
	v := resource.NewObjectProperty(r.Inputs)
	for _, key := range strings.Split(path, ".") {
		if v.IsArray() {
			if len(v.ArrayValue()) == 0 {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[0]
		}
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		v = v.ObjectValue()[resource.PropertyKey(key)]
	}
	return v
}

func str(r Resource, path string) string {
	v := value(r, path)
	if v.IsString() {
		return v.StringValue()
	}
	if v.IsNumber() {
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	}
	if v.IsBool() {
		if v.BoolValue() {
			return "true"
		}
		return "false"
	}
	return ""
}

// userData returns a resource's boot script: the shell part of its MIME
// user-data, decoding a launch template's base64 first.
func userData(t *testing.T, r Resource) string {
	t.Helper()
	parts := userDataParts(t, r)
	script, ok := parts["text/x-shellscript"]
	if !ok {
		t.Fatalf("%s: user-data has no text/x-shellscript part", r.Name)
	}
	return script
}

// userDataParts parses a resource's MIME user-data as cloud-init does,
// returning each part by content type.
func userDataParts(t *testing.T, r Resource) map[string]string {
	t.Helper()
	raw := rawUserData(t, r)
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: user-data is not a MIME document: %v", r.Name, err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" {
		t.Fatalf("%s: user-data is %q (%v), want multipart/mixed", r.Name, mediaType, err)
	}
	parts := map[string]string{}
	reader := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := reader.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("%s: user-data part: %v", r.Name, err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		parts[partType] = string(body)
	}
}

// rawUserData is a resource's user-data as EC2 hands it to the instance.
func rawUserData(t *testing.T, r Resource) string {
	t.Helper()
	raw := str(r, "userData")
	if r.Type == "aws:ec2/launchTemplate:LaunchTemplate" {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			t.Fatalf("launch template user-data is not base64: %v", err)
		}
		raw = string(b)
	}
	if raw == "" {
		t.Fatalf("%s has no user-data", r.Name)
	}
	return raw
}

// appSettings parses the SETTINGS block of a boot script with the app's
// own loader: what the app will run with.
func appSettings(t *testing.T, script string) (appconfig.Config, map[string]string) {
	t.Helper()
	_, rest, ok := strings.Cut(script, "<<'SETTINGS'\n")
	block, _, ok2 := strings.Cut(rest, "\nSETTINGS\n")
	if !ok || !ok2 {
		t.Fatalf("no SETTINGS block in user-data")
	}
	env := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = strings.Trim(v, `"`)
	}
	// Level 0's password is appended on the host, never in user-data.
	cfg, err := appconfig.Load(nil, lookupIn(env), io.Discard)
	if err != nil {
		t.Fatalf("the app refuses the user-data's settings: %v", err)
	}
	return cfg, env
}

// policyStatements parses an IAM or resource policy.
func policyStatements(t *testing.T, raw string) []statement {
	t.Helper()
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Principal any
			Action    any
			Resource  any
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, raw)
	}
	var out []statement
	for _, s := range doc.Statement {
		out = append(out, statement{Sid: s.Sid, Effect: s.Effect, Principal: s.Principal,
			Action: anyStrings(s.Action), Resource: anyStrings(s.Resource), Condition: s.Condition})
	}
	return out
}

// roleStatements are the statements of every inline policy on the app's
// role.
func roleStatements(t *testing.T, sim *Simulation) []statement {
	t.Helper()
	var all []statement
	for _, p := range sim.ofType("aws:iam/rolePolicy:RolePolicy") {
		all = append(all, policyStatements(t, str(p, "policy"))...)
	}
	return all
}

// dependsOn reports whether r was registered with an explicit dependency on
// a resource of type typ named name.
func dependsOn(r Resource, typ, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool {
		return strings.Contains(urn, typ) && strings.HasSuffix(urn, "::"+name)
	})
}
