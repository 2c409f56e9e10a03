package s3blob

import "time"

// SetClock makes b sign URLs by now.
func SetClock(b *Blobs, now func() time.Time) { b.now = now }
