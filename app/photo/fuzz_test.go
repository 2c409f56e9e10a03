package photo_test

import (
	"strings"
	"testing"

	"webdemo/app/photo"
)

// FuzzValidKey: whatever a URL or a store listing holds, a key that passes
// is one NewKey could have made, and nothing that could leave a directory
// or a bucket prefix.
func FuzzValidKey(f *testing.F) {
	for _, seed := range []string{
		"0123456789abcdef0123456789abcdef.png", "0123456789ABCDEF0123456789abcdef.png",
		"0123456789abcdef0123456789abcdef.png\n", "../0123456789abcdef0123456789abc.png",
		"0123456789abcdef0123456789abcdef.exe", "0123456789abcdef0123456789abcdef.webp",
		"", ".png", "test.db",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !photo.ValidKey(key) {
			return
		}
		stem, ext, ok := strings.Cut(key, ".")
		if !ok || len(stem) != 32 || strings.Trim(stem, "0123456789abcdef") != "" {
			t.Fatalf("ValidKey(%q) accepts a key NewKey never makes", key)
		}
		if ct := photo.ContentTypeOf(key); photo.Extensions[ct] != "."+ext {
			t.Fatalf("ValidKey(%q) accepts an extension with no content type (%s)", key, ct)
		}
	})
}

// FuzzNewKey: any content type either makes a valid key carrying its own
// extension, or is refused.
func FuzzNewKey(f *testing.F) {
	for ct := range photo.Extensions {
		f.Add(ct)
	}
	f.Add("text/html")
	f.Add("image/svg+xml")
	f.Add("image/png; charset=utf-8")
	f.Fuzz(func(t *testing.T, contentType string) {
		key, err := photo.NewKey(contentType)
		_, accepted := photo.Extensions[contentType]
		if !accepted {
			if err == nil {
				t.Fatalf("NewKey(%q) = %q, want an error", contentType, key)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewKey(%q): %v", contentType, err)
		}
		if !photo.ValidKey(key) || photo.ContentTypeOf(key) != contentType {
			t.Fatalf("NewKey(%q) = %q: valid %v, content type %q", contentType, key, photo.ValidKey(key), photo.ContentTypeOf(key))
		}
	})
}
