// Package throttle limits how often each client may do something, such as
// log in, with a token bucket per client. It remembers a bounded number of
// clients, so a flood from many addresses costs fixed memory. It imports
// no package of the app.
package throttle

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Limiter allows each key perMinute events a minute, in bursts of up to
// perMinute. It is safe for concurrent use.
type Limiter struct {
	every   rate.Limit
	burst   int
	clients *lru.Cache[string, *rate.Limiter]
	now     func() time.Time
}

// New returns a Limiter that remembers up to maxClients keys; beyond that
// the least recently seen key is forgotten and starts afresh if it returns.
func New(perMinute, maxClients int) *Limiter {
	clients, err := lru.New[string, *rate.Limiter](maxClients)
	if err != nil {
		panic("throttle: " + err.Error()) // only for maxClients < 1
	}
	return &Limiter{
		every:   rate.Every(time.Minute / time.Duration(perMinute)),
		burst:   perMinute,
		clients: clients,
		now:     time.Now,
	}
}

// Allow takes one event for key. When key is over its limit it returns
// false and how long until the next event would be allowed.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	lim, found := l.clients.Get(key)
	if !found {
		// PeekOrAdd keeps the first limiter when two requests race.
		lim = rate.NewLimiter(l.every, l.burst)
		if prev, exists, _ := l.clients.PeekOrAdd(key, lim); exists {
			lim = prev
		}
	}
	now := l.now()
	r := lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		// Refused attempts do not use up tokens, or a client that keeps
		// trying would never get in.
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// Len reports how many keys are remembered.
func (l *Limiter) Len() int { return l.clients.Len() }
