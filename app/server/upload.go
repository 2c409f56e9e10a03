package server

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image decoders for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"time"

	_ "golang.org/x/image/webp"

	"webdemo/app/photo"
)

// uploadError is a rejected upload: a status and a message for the user.
type uploadError struct {
	status  int
	message string
}

// Error returns the message shown to the user.
func (e *uploadError) Error() string { return e.message }

func reject(status int, format string, args ...any) error {
	return &uploadError{status, fmt.Sprintf(format, args...)}
}

// multipartOverhead allows for the form's boundaries and headers on top of
// the file itself.
const multipartOverhead = 64 << 10

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.GetString(r.Context(), sessionUserKey)
	if user == "" {
		s.fail(w, http.StatusUnauthorized, "Log in to upload photos.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes+multipartOverhead)
	data, contentType, err := s.readImage(r)
	if err != nil {
		var ue *uploadError
		if !errors.As(err, &ue) {
			ue = &uploadError{http.StatusBadRequest, "The upload could not be read."}
		}
		s.fail(w, ue.status, ue.message)
		return
	}

	key, err := photo.NewKey(contentType)
	if err != nil {
		s.Logger.Error("new key", "err", err)
		s.fail(w, http.StatusInternalServerError, "The photo could not be saved.")
		return
	}
	// Blob first, then the row: a listed photo always has its bytes.
	if err := s.Blobs.Put(r.Context(), key, contentType, bytes.NewReader(data), int64(len(data))); err != nil {
		s.Logger.Error("store upload", "key", key, "err", err)
		s.fail(w, http.StatusBadGateway, "The photo store is unavailable, so the photo was not saved. Please try again.")
		return
	}
	_, err = s.Metadata.Add(r.Context(), photo.Photo{Username: user, Key: key, ContentType: contentType, CreatedAt: time.Now()})
	if err != nil {
		s.Logger.Error("record upload", "key", key, "err", err)
		ctx, cancel := detached(r.Context())
		defer cancel()
		if delErr := s.Blobs.Delete(ctx, key); delErr != nil {
			s.Logger.Error("remove orphaned upload", "key", key, "err", delErr)
		}
		s.fail(w, http.StatusServiceUnavailable, "The photo database is unavailable, so the photo was not saved. Please try again.")
		return
	}
	if s.pages != nil {
		ctx, cancel := detached(r.Context())
		defer cancel()
		if err := s.pages.invalidate(ctx); err != nil {
			s.Logger.Warn("invalidate page cache", "err", err)
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// readImage reads the "photo" part of a multipart form and checks it is an
// accepted image by its content, never its name.
func (s *Server) readImage(r *http.Request) ([]byte, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", reject(http.StatusBadRequest, "Send the photo as a multipart form.")
	}
	var data []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", reject(http.StatusBadRequest, "Choose a photo to upload.")
		}
		if err != nil {
			return nil, "", readError(err)
		}
		if part.FormName() != "photo" {
			continue
		}
		data, err = io.ReadAll(io.LimitReader(part, s.opts.MaxUploadBytes+1))
		if err != nil {
			return nil, "", readError(err)
		}
		break
	}
	if int64(len(data)) > s.opts.MaxUploadBytes {
		return nil, "", tooLarge(s.opts.MaxUploadBytes)
	}
	if len(data) == 0 {
		return nil, "", reject(http.StatusBadRequest, "The file is empty.")
	}
	contentType := http.DetectContentType(data)
	if _, ok := photo.Extensions[contentType]; !ok {
		return nil, "", reject(http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP images are accepted.")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", reject(http.StatusUnsupportedMediaType, "The file is not a readable image.")
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > int64(s.opts.MaxImagePixels) {
		return nil, "", reject(http.StatusUnprocessableEntity,
			"The image is %d×%d pixels; the limit is %d pixels in all.", cfg.Width, cfg.Height, s.opts.MaxImagePixels)
	}
	return data, contentType, nil
}

func readError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(tooBig.Limit - multipartOverhead)
	}
	return reject(http.StatusBadRequest, "The upload was malformed or cut short.")
}

func tooLarge(limit int64) error {
	return reject(http.StatusRequestEntityTooLarge, "The file is larger than %d MiB.", max(1, limit>>20))
}
