package stack

// Pulumi's mocks accept any input; AWS does not. A real first `pulumi up`
// failed because a security-group rule description held an apostrophe,
// which EC2 refuses. These tests hold every resource the program registers,
// at every level and with the config that adds resources, to the rules AWS
// documents for its inputs. The rules themselves are in
// awsrules_table_test.go, one list per resource type, each citing the page
// that states it.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsRule is one documented AWS constraint on a resource's inputs.
type awsRule struct {
	field string // the input it checks, as the Pulumi schema names it
	rule  string // what AWS requires, in words
	doc   string // the page that says so
	// bad returns the offending values of field, formatted for the report;
	// none when the rule holds.
	bad func(r Resource, sim *Simulation) []string
}

// awsRuleConfigs are the stacks checked: every level, and the settings
// that register resources the defaults do not.
var awsRuleConfigs = []struct {
	name   string
	config map[string]string
}{
	{"level 0", LevelConfig(0)},
	{"level 1", LevelConfig(1)},
	{"level 2", LevelConfig(2)},
	{"level 3", LevelConfig(3)},
	{"level 4", LevelConfig(4)},
	{"level 1 HTTPS", map[string]string{"level": "1", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234"}},
	{"level 3 HTTPS", map[string]string{"level": "3", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234"}},
	{"level 0 SSH", map[string]string{"level": "0", "sshKeyName": "demo", "sshCidr": "203.0.113.7/32"}},
	{"level 3 SSH", map[string]string{"level": "3", "sshKeyName": "demo", "sshCidr": "203.0.113.7/32"}},
	{"level 1 multiAz", map[string]string{"level": "1", "multiAz": "true"}},
	{"level 1 unsharedState", map[string]string{"level": "1", "unsharedState": "true"}},
	// Migrations keep two levels' stores, and the level-0 server beside a fleet.
	{"level 1 from 0", migrationConfig(0, 1)},
	{"level 4 from 0", migrationConfig(0, 4)},
	{"level 0 from 1", migrationConfig(1, 0)},
	{"level 0 from 2", migrationConfig(2, 0)},
	{"level 2 from 1", migrationConfig(1, 2)},
	{"level 3 from 1", migrationConfig(1, 3)},
}

// TestAWSRules checks every registered resource against its type's rules.
// A type without rules fails: whoever adds a resource type adds its rules.
func TestAWSRules(t *testing.T) {
	for _, c := range awsRuleConfigs {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			sim, err := Simulate(c.config, Options{BuildApp: StandInArtifact})
			if err != nil {
				t.Fatalf("%s: the program fails under mocks: %v", c.name, err)
			}
			for _, line := range awsViolations(sim) {
				t.Errorf("%s: %s", c.name, line)
			}
		})
	}
}

// awsViolations checks every resource in sim, one line per violation.
func awsViolations(sim *Simulation) []string {
	var out []string
	for _, r := range sim.Resources {
		out = append(out, checkAWSResource(r, sim)...)
	}
	return out
}

// checkAWSResource checks one resource against its type's rules.
func checkAWSResource(r Resource, sim *Simulation) []string {
	if awsRulesExempt(r.Type) {
		return nil
	}
	rules, ok := awsRules[r.Type]
	if !ok {
		return []string{fmt.Sprintf("no AWS rules for %s: add them with their documentation pages (resource %s)", r.Type, r.Name)}
	}
	var out []string
	for _, rule := range rules {
		for _, v := range rule.bad(r, sim) {
			out = append(out, fmt.Sprintf("%s %s: %s = %s breaks %q (%s)", r.Type, r.Name, rule.field, v, rule.rule, rule.doc))
		}
	}
	return out
}

// awsRulesExempt: component resources are Pulumi's own grouping and
// reach no AWS API; the provider resource only holds configuration.
func awsRulesExempt(typ string) bool {
	return strings.HasPrefix(typ, "web-demo:") || strings.HasPrefix(typ, "pulumi:providers:")
}

// TestAWSRulesCiteTheirPages keeps the table honest: every rule says what
// it checks and where AWS (or the provider) documents it.
func TestAWSRulesCiteTheirPages(t *testing.T) {
	for typ, rules := range awsRules {
		if len(rules) == 0 {
			t.Errorf("%s: an empty rule list; add its rules or remove the entry", typ)
		}
		for _, r := range rules {
			if r.field == "" || r.rule == "" || r.bad == nil || !strings.HasPrefix(r.doc, "https://") {
				t.Errorf("%s: rule %q on %q lacks a field, a rule, a check or an https documentation page (%q)", typ, r.rule, r.field, r.doc)
			}
		}
	}
}

// --- Reading inputs ---------------------------------------------------

// inputsAt returns every value at a dotted input path, through arrays,
// secrets and known outputs; a missing or null value is left out, so a
// rule on an optional input holds when it is unset.
func inputsAt(r Resource, path string) []resource.PropertyValue {
	vals := []resource.PropertyValue{resource.NewObjectProperty(r.Inputs)}
	for _, key := range strings.Split(path, ".") {
		var next []resource.PropertyValue
		for _, v := range vals {
			for _, o := range spread(v) {
				if !o.IsObject() {
					continue
				}
				if x, ok := o.ObjectValue()[resource.PropertyKey(key)]; ok {
					next = append(next, x)
				}
			}
		}
		vals = next
	}
	var out []resource.PropertyValue
	for _, v := range vals {
		out = append(out, spread(v)...)
	}
	return out
}

// spread unwraps secrets and known outputs and spreads arrays.
func spread(v resource.PropertyValue) []resource.PropertyValue {
	switch {
	case v.IsSecret():
		return spread(v.SecretValue().Element)
	case v.IsOutput():
		if !v.OutputValue().Known {
			return nil
		}
		return spread(v.OutputValue().Element)
	case v.IsComputed(), v.IsNull():
		return nil
	case v.IsArray():
		var out []resource.PropertyValue
		for _, e := range v.ArrayValue() {
			out = append(out, spread(e)...)
		}
		return out
	}
	return []resource.PropertyValue{v}
}

// textsAt returns the values at path as text: strings as they are,
// numbers and booleans formatted.
func textsAt(r Resource, path string) []string {
	var out []string
	for _, v := range inputsAt(r, path) {
		switch {
		case v.IsString():
			out = append(out, v.StringValue())
		case v.IsNumber():
			out = append(out, strconv.FormatFloat(v.NumberValue(), 'f', -1, 64))
		case v.IsBool():
			out = append(out, strconv.FormatBool(v.BoolValue()))
		}
	}
	return out
}

// textAt is the first value at path, or "".
func textAt(r Resource, path string) string {
	if s := textsAt(r, path); len(s) > 0 {
		return s[0]
	}
	return ""
}

// numbersAt returns the numbers at path, including numeric strings (the
// provider takes some numbers as strings, such as a redirect's port).
func numbersAt(r Resource, path string) []float64 {
	var out []float64
	for _, s := range textsAt(r, path) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// numberAt is the first number at path, or def when unset.
func numberAt(r Resource, path string, def float64) float64 {
	if n := numbersAt(r, path); len(n) > 0 {
		return n[0]
	}
	return def
}

func isTrue(r Resource, path string) bool { return textAt(r, path) == "true" }

// quoted formats a value for a report line, shortening long ones.
func quoted(s string) string {
	if len(s) > 120 {
		return strconv.Quote(s[:60]) + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

func fmtNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// --- Rule constructors ------------------------------------------------

// textRule checks every string at field with ok.
func textRule(field, rule, doc string, ok func(string) bool) awsRule {
	return awsRule{field: field, rule: rule, doc: doc, bad: func(r Resource, _ *Simulation) []string {
		return badTexts(r, field, ok)
	}}
}

// badTexts are the values at field that ok refuses, quoted.
func badTexts(r Resource, field string, ok func(string) bool) []string {
	var bad []string
	for _, s := range textsAt(r, field) {
		if !ok(s) {
			bad = append(bad, quoted(s))
		}
	}
	return bad
}

// oneOf allows only the listed values (when the input is set).
func oneOf(field, doc string, allowed ...string) awsRule {
	return textRule(field, "one of "+strings.Join(allowed, " | "), doc, func(s string) bool { return slices.Contains(allowed, s) })
}

// between bounds every number at field.
func between(field string, lo, hi float64, doc string) awsRule {
	return awsRule{field: field, rule: fmt.Sprintf("from %s to %s", fmtNumber(lo), fmtNumber(hi)), doc: doc,
		bad: func(r Resource, _ *Simulation) []string {
			var bad []string
			for _, n := range numbersAt(r, field) {
				if n < lo || n > hi || n != float64(int64(n)) {
					bad = append(bad, fmtNumber(n))
				}
			}
			return bad
		}}
}

// maxChars bounds the length of every string at field, in characters.
func maxChars(field string, n int, doc string) awsRule {
	return textRule(field, fmt.Sprintf("at most %d characters", n), doc, func(s string) bool { return utf8.RuneCountInString(s) <= n })
}

// atMost bounds how many values field holds (an array's length).
func atMost(field string, n int, doc string) awsRule {
	return awsRule{field: field, rule: fmt.Sprintf("at most %d values", n), doc: doc, bad: func(r Resource, _ *Simulation) []string {
		if got := len(inputsAt(r, field)); got > n {
			return []string{fmt.Sprintf("%d values", got)}
		}
		return nil
	}}
}

// whole checks what a single value cannot show: two inputs together, or a
// resource with others in the stack.
func whole(field, rule, doc string, bad func(r Resource, sim *Simulation) []string) awsRule {
	return awsRule{field: field, rule: rule, doc: doc, bad: bad}
}

// --- Physical names ---------------------------------------------------

// naming says which input holds a type's physical name and how Pulumi
// makes one when the program leaves it unset. Pulumi's default is the
// logical name, "-" and 7 random hex characters; pulumi-aws overrides it
// for some types (provider/resources.go in pulumi/pulumi-aws):
//   - S3 buckets and ElastiCache cluster ids lowercase the logical name
//     first (AutoNameTransform with strings.ToLower), since AWS refuses
//     upper case there;
//   - an RDS instance's identifier is resource.NewUniqueHex(name, 7, 255):
//     the 7 hex characters follow the logical name with no separator
//     (https://github.com/pulumi/pulumi-aws/issues/6434 shows "rds" +
//     7 hex).
//
// See https://www.pulumi.com/docs/concepts/resources/names/ and the FAQ
// https://www.pulumi.com/docs/support/faq/ ("random hex character
// suffixes"). In mocks the inputs hold no auto-name, so it is computed
// here from Resource.Name.
type naming struct {
	field string
	lower bool
	sep   string
}

var (
	autoName        = naming{field: "name", sep: "-"}
	bucketAutoName  = naming{field: "bucket", sep: "-", lower: true}
	clusterAutoName = naming{field: "clusterId", sep: "-", lower: true}
	rdsAutoName     = naming{field: "identifier"}
	efsTokenName    = naming{field: "creationToken", sep: "-"}
)

// pulumiSuffix stands in for the 7 random hex characters Pulumi appends.
const pulumiSuffix = "0a1b2c3"

// terraformPrefixSuffix stands in for what the provider appends to a
// namePrefix: a 26-character timestamp and counter.
const terraformPrefixSuffix = "20261201000000000000000001"

// physical is the name AWS will see, and whether Pulumi made it up.
func (n naming) physical(r Resource) (name string, auto bool) {
	if s := textsAt(r, n.field); len(s) > 0 {
		return s[0], false
	}
	if p := textsAt(r, "namePrefix"); len(p) > 0 {
		return p[0] + terraformPrefixSuffix, true
	}
	logical := r.Name
	if n.lower {
		logical = strings.ToLower(logical)
	}
	return logical + n.sep + pulumiSuffix, true
}

// nameRule checks a type's physical name, explicit or auto-named.
func nameRule(n naming, rule, doc string, ok func(string) bool) awsRule {
	return awsRule{field: n.field, rule: rule, doc: doc, bad: func(r Resource, _ *Simulation) []string {
		name, auto := n.physical(r)
		if ok(name) {
			return nil
		}
		if auto {
			return []string{quoted(name) + " (Pulumi's auto-name for logical name " + strconv.Quote(r.Name) + ")"}
		}
		return []string{quoted(name)}
	}}
}

// --- Tags --------------------------------------------------------------

// tagPairs reads tags kept as a map ({"Name": "x"}) or as a list of
// {key, value} objects (AutoScaling groups).
func tagPairs(r Resource, field string) [][2]string {
	var out [][2]string
	for _, v := range inputsAt(r, field) {
		if !v.IsObject() {
			continue
		}
		obj := v.ObjectValue()
		if k, ok := obj["key"]; ok && k.IsString() {
			val := ""
			if x, ok := obj["value"]; ok && x.IsString() {
				val = x.StringValue()
			}
			out = append(out, [2]string{k.StringValue(), val})
			continue
		}
		for _, k := range obj.StableKeys() {
			if x := obj[k]; x.IsString() {
				out = append(out, [2]string{string(k), x.StringValue()})
			}
		}
	}
	return out
}

// tagRules are the limits every tagging AWS service shares.
func tagRules(field string) []awsRule {
	const doc = "https://docs.aws.amazon.com/personalize/latest/dg/personalize-managing-tags.html"
	const ecsDoc = "https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/ECS/TTag.html"
	pairs := func(ok func(k, v string) bool) func(Resource, *Simulation) []string {
		return func(r Resource, _ *Simulation) []string {
			var bad []string
			for _, p := range tagPairs(r, field) {
				if !ok(p[0], p[1]) {
					bad = append(bad, quoted(p[0]+"="+p[1]))
				}
			}
			return bad
		}
	}
	return []awsRule{
		whole(field, "tag keys 1 to 128 characters, values at most 256", ecsDoc, pairs(tagLengthsOK)),
		whole(field, "no aws: prefix, in any case, on keys or values (reserved)", ecsDoc, pairs(func(k, v string) bool {
			return !strings.HasPrefix(strings.ToLower(k), "aws:") && !strings.HasPrefix(strings.ToLower(v), "aws:")
		})),
		whole(field, "only letters, digits, spaces and _ . : / = + - @ (the set every tagging service accepts)", doc, pairs(func(k, v string) bool {
			return tagChars.MatchString(k) && tagChars.MatchString(v)
		})),
		whole(field, "at most 50 tags per resource", ecsDoc, func(r Resource, _ *Simulation) []string {
			if n := len(tagPairs(r, field)); n > 50 {
				return []string{fmt.Sprintf("%d tags", n)}
			}
			return nil
		}),
	}
}

var tagChars = regexp.MustCompile(`^[\p{L}\p{N}\s_.:/=+\-@]*$`)

func tagLengthsOK(k, v string) bool {
	n := utf8.RuneCountInString(k)
	return n >= 1 && n <= 128 && utf8.RuneCountInString(v) <= 256
}

// --- Looking across resources -------------------------------------------

// refersTo finds the resource an input refers to: by mock id ("name-id")
// or by the name the mocks answered for it.
func refersTo(sim *Simulation, typ, ref string) (Resource, bool) {
	for _, r := range sim.ofType(typ) {
		if r.Name+"-id" == ref || stateText(r, "name") == ref || stateText(r, "arn") == ref || stateText(r, "bucket") == ref {
			return r, true
		}
	}
	return Resource{}, false
}

func stateText(r Resource, key string) string {
	if v, ok := r.State[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

// zonesOf is the distinct availability zones of the subnets in field.
func zonesOf(r Resource, field string, sim *Simulation) []string {
	var zones []string
	for _, id := range textsAt(r, field) {
		if subnet, ok := refersTo(sim, "aws:ec2/subnet:Subnet", id); ok {
			if z := textAt(subnet, "availabilityZone"); z != "" && !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
	}
	sort.Strings(zones)
	return zones
}

// --- CIDR blocks -----------------------------------------------------------

// cidrCanonical: AWS stores a CIDR block as its network address, so a
// block with host bits set would never match what Pulumi sent.
func cidrCanonical(s string) bool {
	p, err := netip.ParsePrefix(s)
	return err == nil && p.Masked() == p
}

func cidrPrefixBetween(lo, hi int) func(string) bool {
	return func(s string) bool {
		p, err := netip.ParsePrefix(s)
		return err == nil && p.Addr().Is4() && p.Bits() >= lo && p.Bits() <= hi
	}
}

// --- Policy documents --------------------------------------------------------

// awsPolicy is an IAM or resource policy, read leniently: Statement, Action,
// Resource and condition values may each be a string or a list.
type awsPolicy struct {
	Version   string
	Statement []awsStatement
}

type awsStatement struct {
	Sid                   string
	Effect                string
	Principal             any
	NotPrincipal          any
	Action, NotAction     []string
	Resource, NotResource []string
	Condition             map[string]map[string][]string
}

func parseAWSPolicy(raw string) (awsPolicy, error) {
	var doc struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return awsPolicy{}, err
	}
	var rawStatements []json.RawMessage
	if err := json.Unmarshal(doc.Statement, &rawStatements); err != nil {
		rawStatements = []json.RawMessage{doc.Statement}
	}
	p := awsPolicy{Version: doc.Version}
	for _, rs := range rawStatements {
		var s struct {
			Sid, Effect                              string
			Principal, NotPrincipal                  any
			Action, NotAction, Resource, NotResource any
			Condition                                map[string]map[string]any
		}
		if err := json.Unmarshal(rs, &s); err != nil {
			return awsPolicy{}, err
		}
		st := awsStatement{Sid: s.Sid, Effect: s.Effect, Principal: s.Principal, NotPrincipal: s.NotPrincipal,
			Action: anyStrings(s.Action), NotAction: anyStrings(s.NotAction),
			Resource: anyStrings(s.Resource), NotResource: anyStrings(s.NotResource)}
		for op, keys := range s.Condition {
			if st.Condition == nil {
				st.Condition = map[string]map[string][]string{}
			}
			st.Condition[op] = map[string][]string{}
			for k, v := range keys {
				st.Condition[op][k] = anyStrings(v)
			}
		}
		p.Statement = append(p.Statement, st)
	}
	return p, nil
}

func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case nil:
		return nil
	}
	return []string{fmt.Sprint(v)}
}

// policyKind is whose policy a document is: it decides whether a
// Principal is required or forbidden.
type policyKind int

const (
	identityPolicy policyKind = iota // attached to a role: no Principal
	trustPolicy                      // a role's assume-role policy
	resourcePolicy                   // a bucket's or file system's
)

// policyRules are the rules every policy document input shares.
func policyRules(field string, kind policyKind) []awsRule {
	const versionDoc = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html"
	const principalDoc = "https://www.repost.aws/knowledge-center/iam-principal-policy"
	parsed := func(r Resource) (awsPolicy, string, bool) {
		raw := textAt(r, field)
		if raw == "" {
			return awsPolicy{}, "", false
		}
		p, err := parseAWSPolicy(raw)
		return p, raw, err == nil
	}
	rules := []awsRule{
		whole(field, `a JSON policy document with "Version": "2012-10-17" and at least one statement`, versionDoc, func(r Resource, _ *Simulation) []string {
			p, raw, ok := parsed(r)
			if raw == "" {
				return nil
			}
			if !ok || p.Version != "2012-10-17" || len(p.Statement) == 0 {
				return []string{quoted(raw)}
			}
			return nil
		}),
		whole(field, "every statement's Effect is Allow or Deny", versionDoc, func(r Resource, _ *Simulation) []string {
			p, _, _ := parsed(r)
			var bad []string
			for _, s := range p.Statement {
				if s.Effect != "Allow" && s.Effect != "Deny" {
					bad = append(bad, fmt.Sprintf("statement %q Effect %q", s.Sid, s.Effect))
				}
			}
			return bad
		}),
	}
	switch kind {
	case identityPolicy:
		rules = append(rules,
			whole(field, "no Principal in an identity-based policy (IAM: Has prohibited field Principal)", principalDoc, func(r Resource, _ *Simulation) []string {
				p, _, _ := parsed(r)
				var bad []string
				for _, s := range p.Statement {
					if s.Principal != nil || s.NotPrincipal != nil {
						bad = append(bad, fmt.Sprintf("statement %q has a Principal", s.Sid))
					}
				}
				return bad
			}),
			// Least privilege: AWS Control Tower's CT.IAM.PR.5 refuses
			// inline policies that allow "*" or "service:*".
			whole(field, `no Allow of "*" or "service:*" actions, and no NotAction`, "https://docs.aws.amazon.com/controltower/latest/controlreference/iam-rules.html", func(r Resource, _ *Simulation) []string {
				p, _, _ := parsed(r)
				var bad []string
				for _, s := range p.Statement {
					if s.Effect != "Allow" {
						continue
					}
					if len(s.NotAction) > 0 {
						bad = append(bad, fmt.Sprintf("statement %q uses NotAction", s.Sid))
					}
					for _, a := range s.Action {
						if a == "*" || strings.HasSuffix(a, ":*") {
							bad = append(bad, fmt.Sprintf("statement %q allows %q", s.Sid, a))
						}
					}
				}
				return bad
			}),
			whole(field, "every statement names its Resource", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html", func(r Resource, _ *Simulation) []string {
				p, _, _ := parsed(r)
				var bad []string
				for _, s := range p.Statement {
					if len(s.Resource) == 0 && len(s.NotResource) == 0 {
						bad = append(bad, fmt.Sprintf("statement %q has no Resource", s.Sid))
					}
					for _, res := range s.Resource {
						if res == "" {
							bad = append(bad, fmt.Sprintf("statement %q has an empty Resource", s.Sid))
						}
					}
				}
				return bad
			}))
	case trustPolicy, resourcePolicy:
		rules = append(rules, whole(field, "every statement names its Principal (a resource-based policy)", principalDoc, func(r Resource, _ *Simulation) []string {
			p, _, _ := parsed(r)
			var bad []string
			for _, s := range p.Statement {
				if s.Principal == nil && s.NotPrincipal == nil {
					bad = append(bad, fmt.Sprintf("statement %q has no Principal", s.Sid))
				}
			}
			return bad
		}))
	}
	if kind != resourcePolicy {
		// IAM policy text: tab, line feed, carriage return, printable
		// ASCII and U+00A1–U+00FF only.
		rules = append(rules, textRule(field, "only tab, LF, CR, U+0020–U+007E and U+00A1–U+00FF", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html", iamPolicyCharsOK))
	}
	return rules
}

// nonSpaceLen is a policy's size as IAM counts it: whitespace is free.
func nonSpaceLen(s string) int {
	n := 0
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			n++
		}
	}
	return n
}

func iamPolicyCharsOK(s string) bool {
	for _, r := range s {
		if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || (r >= 0xa1 && r <= 0xff)) {
			return false
		}
	}
	return true
}

// decodedUserData is a launch template's user-data decoded, or false when
// it is not base64.
func decodedUserData(s string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err == nil
}
