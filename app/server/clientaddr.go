package server

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// clientAddr is the address a request came from. A request from a trusted
// proxy (the load balancer) carries the client's address in
// X-Forwarded-For, each proxy appending the address it saw; reading from
// the right, the first address no trusted proxy owns is the client's.
// Anything left of it was written by the client and may be forged. It
// returns the zero Addr only when RemoteAddr is unreadable.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr := parseHop(r.RemoteAddr)
	if !addr.IsValid() || !isTrusted(addr, trusted) {
		return addr
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var hop string
			if comma := strings.LastIndexByte(rest, ','); comma >= 0 {
				rest, hop = rest[:comma], rest[comma+1:]
			} else {
				rest, hop = "", rest
			}
			next := parseHop(strings.TrimSpace(hop))
			if !next.IsValid() {
				// A trusted proxy never writes this: someone else did, so
				// the nearest trusted hop is all that is known.
				return addr
			}
			if !isTrusted(next, trusted) {
				return next
			}
			addr = next
		}
	}
	return addr
}

// parseHop reads an address with or without a port, as a 4-in-6 address's
// IPv4 form, so one client always has one spelling.
func parseHop(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// throttleKey groups addresses by who controls them: one IPv4 address, or
// one IPv6 /64, the smallest block a site is normally given.
func throttleKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// throttleLogins answers 429 with Retry-After to a client over its login
// rate, before its session is even loaded, so a flood cannot fill the
// session store.
func (s *Server) throttleLogins(next http.Handler) http.Handler {
	if s.logins == nil {
		return next
	}
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		client := clientAddr(r, s.opts.TrustedProxies)
		ok, retryAfter := s.logins.Allow(throttleKey(client))
		if !ok {
			secs := int((retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			return reject(http.StatusTooManyRequests, "Too many login attempts from your address. Please wait %s and try again.", plural(secs, "second"))
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
