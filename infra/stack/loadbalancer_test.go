package stack

import (
	"testing"
)

func TestLoadBalancer(t *testing.T) {
	sim := simulate(t, 1)
	alb := sim.one(t, tALB, "web")
	if str(alb, "dropInvalidHeaderFields") != "true" || str(alb, "internal") != "false" || str(alb, "name") != "" {
		t.Error("ALB must drop invalid headers, face the internet and be auto-named")
	}
	if str(alb, "desyncMitigationMode") != "strictest" {
		t.Errorf("ALB desync mitigation mode %q, want strictest", str(alb, "desyncMitigationMode"))
	}
	tg := sim.one(t, tTargetGroup, "web")
	if str(tg, "healthCheck.path") != "/healthz" || str(tg, "deregistrationDelay") != "30" {
		t.Errorf("target group health check %q, deregistration %q", str(tg, "healthCheck.path"), str(tg, "deregistrationDelay"))
	}
	if str(sim.one(t, tListener, "web-http"), "defaultActions.type") != "forward" {
		t.Error("without a certificate HTTP must forward")
	}
	https := simulateWith(t, map[string]string{"level": "3", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"})
	if str(https.one(t, tListener, "web-http"), "defaultActions.redirect.protocol") != "HTTPS" {
		t.Error("with a certificate HTTP must redirect to HTTPS")
	}
	listener := https.one(t, tListener, "web-https")
	if str(listener, "sslPolicy") != tlsPolicy || str(listener, "protocol") != "HTTPS" {
		t.Error("HTTPS listener lacks the TLS 1.2+ policy")
	}
	cfg, _ := appSettings(t, userData(t, https.ofType(tTemplate)[0]))
	if !cfg.CookieSecure {
		t.Error("behind HTTPS the session cookie must be Secure")
	}
	if https.Outputs["url"] != "https://web-123456.us-east-1.elb.amazonaws.com" {
		t.Errorf("url = %v", https.Outputs["url"])
	}
}
