package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a hand-moved time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newAt(c *clock, perMinute, max int) *Limiter {
	l := New(perMinute, max)
	l.now = c.now
	return l
}

func TestBurstThenRefuseWithRetryAfter(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := newAt(c, 6, 100)
	for i := range 6 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("a")
	if ok {
		t.Fatal("the 7th attempt in a minute was allowed")
	}
	if retry <= 0 || retry > 10*time.Second {
		t.Fatalf("retry after %v, want (0, 10s] at 6 a minute", retry)
	}
	// Hammering while refused does not push the next slot further away.
	for range 50 {
		l.Allow("a")
	}
	c.advance(retry)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after waiting the Retry-After time")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("a second attempt right after the refill was allowed")
	}
}

func TestClientsAreIndependent(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := newAt(c, 1, 100)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("first attempt of a refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("second attempt of a allowed")
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("b was refused because of a")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	l := newAt(c, 1, 3)
	for i := range 1000 {
		l.Allow(fmt.Sprint("client-", i))
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("remembers %d clients, want 3", n)
	}
	// The most recent client is still limited; a forgotten one starts afresh.
	if ok, _ := l.Allow("client-999"); ok {
		t.Fatal("a remembered client was not limited")
	}
	if ok, _ := l.Allow("client-0"); !ok {
		t.Fatal("a forgotten client was still limited")
	}
}

func TestConcurrentFirstAttemptsShareOneBucket(t *testing.T) {
	l := New(5, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if ok, _ := l.Allow("same"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// 50 attempts within far less than the 12 s refill: exactly the burst.
	if allowed != 5 {
		t.Fatalf("%d of 50 simultaneous attempts allowed, want the burst of 5", allowed)
	}
}
