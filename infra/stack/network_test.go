package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ingressRules describes every ingress rule as "group:port<-source".
func ingressRules(sim *Simulation) []string {
	var rules []string
	for _, r := range sim.ofType(tIngress) {
		on, _ := sim.byID(str(r, "securityGroupId"))
		from := str(r, "cidrIpv4")
		if ref := str(r, "referencedSecurityGroupId"); ref != "" {
			group, _ := sim.byID(ref)
			from = group.Name
		}
		rules = append(rules, fmt.Sprintf("%s:%s<-%s", on.Name, str(r, "fromPort"), from))
		if str(r, "fromPort") != str(r, "toPort") || str(r, "ipProtocol") != "tcp" {
			rules = append(rules, "not a single TCP port: "+r.Name)
		}
	}
	sort.Strings(rules)
	return rules
}

func TestSecurityGroupRules(t *testing.T) {
	lbTier := []string{"network-app:80<-network-lb", "network-cache:11211<-network-app", "network-db:3306<-network-app", "network-lb:80<-0.0.0.0/0"}
	want := map[int][]string{
		0: {"network-app:80<-0.0.0.0/0"},
		1: append([]string{"network-efs:2049<-network-app"}, lbTier...),
		2: lbTier, 3: lbTier, 4: lbTier,
	}
	for n := range 5 {
		got := ingressRules(simulate(t, n))
		exp := slices.Clone(want[n])
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("level %d ingress:\n got %v\nwant %v", n, got, exp)
		}
	}
	// Options open exactly what they name.
	sim := simulateWith(t, map[string]string{"level": "2", "allowedCidr": "198.51.100.0/24",
		"sshKeyName": "learner", "sshCidr": "203.0.113.7/32",
		"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"})
	got := ingressRules(sim)
	for _, rule := range []string{"network-lb:80<-198.51.100.0/24", "network-lb:443<-198.51.100.0/24", "network-app:22<-203.0.113.7/32"} {
		if !slices.Contains(got, rule) {
			t.Errorf("with options, missing %s in %v", rule, got)
		}
	}
	for _, rule := range got {
		if strings.HasSuffix(rule, "<-0.0.0.0/0") {
			t.Errorf("with allowedCidr set, %s is still open to the world", rule)
		}
	}
}

func TestNoSSHByDefault(t *testing.T) {
	for n := range 5 {
		sim := simulate(t, n)
		for _, r := range sim.ofType(tIngress) {
			if str(r, "fromPort") == "22" {
				t.Errorf("level %d opens SSH by default", n)
			}
		}
		for _, r := range append(sim.ofType(tInstance), sim.ofType(tTemplate)...) {
			if str(r, "keyName") != "" {
				t.Errorf("level %d: %s has a key pair by default", n, r.Name)
			}
		}
	}
}

func TestPrivateTiersUsePrivateSubnets(t *testing.T) {
	sim := simulate(t, 1)
	for _, r := range sim.ofType(tSubnet) {
		public := strings.Contains(r.Name, "public")
		if got := str(r, "mapPublicIpOnLaunch"); got != fmt.Sprint(public) {
			t.Errorf("subnet %s mapPublicIpOnLaunch = %s", r.Name, got)
		}
	}
	for _, typ := range []string{"aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"} {
		group := sim.ofType(typ)[0]
		for _, id := range group.Inputs["subnetIds"].ArrayValue() {
			subnet, _ := sim.byID(id.StringValue())
			if !strings.Contains(subnet.Name, "private") {
				t.Errorf("%s uses subnet %s", typ, subnet.Name)
			}
		}
	}
	private := sim.one(t, tRouteTable, "network-private")
	if routes := value(private, "routes"); routes.IsArray() && len(routes.ArrayValue()) > 0 {
		t.Error("the private route table has a route out")
	}
}

// Zone names map to different physical zones in each account, and some
// lack newer instance types: subnets go only where the type is offered.
func TestZonesOfferTheInstanceType(t *testing.T) {
	for n := range 5 {
		for _, subnet := range simulate(t, n).ofType(tSubnet) {
			if zone := str(subnet, "availabilityZone"); !slices.Contains(MockZonesOffering, zone) {
				t.Errorf("level %d: subnet %s in %s, which lacks the instance type", n, subnet.Name, zone)
			}
		}
	}
}

// An internet-facing ALB created before the gateway is attached fails, and
// instances boot by fetching the app over the gateway.
func TestInternetPathPrecedesWhatNeedsIt(t *testing.T) {
	path := []struct{ typ, name string }{
		{"aws:ec2/internetGateway:InternetGateway", "network"},
		{tRouteTable, "network-public"},
		{"aws:ec2/routeTableAssociation:RouteTableAssociation", "network-public-0"},
		{"aws:ec2/routeTableAssociation:RouteTableAssociation", "network-public-1"},
	}
	for n := range 5 {
		sim := simulate(t, n)
		var needers []Resource
		for _, typ := range []string{tALB, tInstance, tGroup, tEIP} {
			needers = append(needers, sim.ofType(typ)...)
		}
		if len(needers) == 0 {
			t.Fatalf("level %d has nothing that needs the internet", n)
		}
		for _, r := range needers {
			for _, p := range path {
				if !dependsOn(r, p.typ, p.name) {
					t.Errorf("level %d: %s %s does not wait for %s", n, r.Type, r.Name, p.name)
				}
			}
		}
	}
}
