package photo_test

import (
	"strings"
	"testing"

	"webdemo/app/photo"
)

func TestNewKeyTakesItsExtensionFromTheType(t *testing.T) {
	for contentType, ext := range photo.Extensions {
		key, err := photo.NewKey(contentType)
		if err != nil || !strings.HasSuffix(key, ext) || !photo.ValidKey(key) {
			t.Errorf("NewKey(%s) = %q, %v", contentType, key, err)
		}
		if got := photo.ContentTypeOf(key); got != contentType {
			t.Errorf("ContentTypeOf(%s) = %s", key, got)
		}
	}
	a, _ := photo.NewKey("image/png")
	b, _ := photo.NewKey("image/png")
	if a == b {
		t.Fatal("two keys are the same")
	}
	if _, err := photo.NewKey("text/html"); err == nil {
		t.Fatal("NewKey accepted text/html")
	}
}

func TestValidKeyRefusesPaths(t *testing.T) {
	for _, key := range []string{"", "..", "../x.png", "0123456789abcdef0123456789abcdef.exe", "0123456789ABCDEF0123456789ABCDEF.png",
		"0123456789abcdef0123456789abcdef.png/..", "/0123456789abcdef0123456789abcdef.png", "0123456789abcdef0123456789abcdef.png\x00"} {
		if photo.ValidKey(key) {
			t.Errorf("ValidKey(%q) = true", key)
		}
	}
}

func TestUploadTokens(t *testing.T) {
	a, b := photo.NewUploadToken(), photo.NewUploadToken()
	if a == b || !photo.ValidUploadToken(a) || !photo.ValidUploadToken(b) {
		t.Fatalf("NewUploadToken gave %q and %q", a, b)
	}
	for _, token := range []string{"", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
		"../../0123456789abcdef0123456789", "0123456789abcdef0123456789abcdef\n"} {
		if photo.ValidUploadToken(token) {
			t.Errorf("ValidUploadToken(%q) = true", token)
		}
	}
}
