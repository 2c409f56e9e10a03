package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"webdemo/app/imagefile"
	"webdemo/app/photo"
)

const (
	// multipartOverhead bounds everything in the form besides the photo's
	// own bytes: boundaries, part headers, the token, other fields.
	multipartOverhead = 64 << 10
	// sniffLen is how much of the file decides its type: what
	// http.DetectContentType reads.
	sniffLen = 512
	// maxFormParts bounds the fields a form may carry.
	maxFormParts = 16
	// decodeBudget is how much memory full decodes may take at once; an
	// image that needs more waits to be decoded alone. Two cores are busy
	// with three 10 MB decodes already.
	decodeBudget = 32 << 20
	// collectAfter is the decode size after which the pixels are collected
	// at once, so the heap does not grow to hold the next image beside
	// them.
	collectAfter = 8 << 20
	// uploadRetryAfter is how many seconds a refused upload is asked to
	// wait.
	uploadRetryAfter = "5"
	// lingerFor is how long a refused upload's body is drained after the
	// answer.
	lingerFor = 10 * time.Second
)

// The upload form's fields.
const (
	photoField = "photo"
	tokenField = "upload_token"
)

var (
	// errFileTooLarge is the photo passing MaxUploadBytes.
	errFileTooLarge = errors.New("photo over the upload cap")
	// errFormTooLarge is the rest of the form passing multipartOverhead.
	errFormTooLarge = errors.New("form over its allowance")
)

// handleUpload stores a photo. The body is never held in memory: the first
// bytes decide the type, the rest streams through imagefile.Clean into a
// temporary file, and only a checked, cleaned image reaches the store.
// Route it through lingerOnRefusal.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	user := s.sessions.GetString(r.Context(), sessionUserKey)
	if user == "" {
		return reject(http.StatusUnauthorized, "Log in to upload photos.")
	}
	// A full server answers at once, before reading any of the body.
	select {
	case s.uploads <- struct{}{}:
	default:
		w.Header().Set("Retry-After", uploadRetryAfter)
		return reject(http.StatusServiceUnavailable, "The server is busy with other uploads. Please try again in a few seconds.")
	}
	err := s.receiveUpload(r, user)
	// The slot and the temporary file are free before the answer leaves,
	// so a client that has its answer finds them free.
	<-s.uploads
	if err != nil {
		return err
	}
	s.Metrics.upload("stored")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// receiveUpload reads, checks and stores an upload. It returns nil once the
// photo is stored, or was already stored by the same form: a replay is
// answered as the first request was.
func (s *Server) receiveUpload(r *http.Request, user string) error {
	if r.ContentLength > s.opts.MaxUploadBytes+multipartOverhead {
		return tooLarge(s.opts.MaxUploadBytes)
	}
	body := &formBody{r: r.Body, allowance: multipartOverhead}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return reject(http.StatusBadRequest, "Send the photo as a multipart form.")
	}
	form, err := s.readForm(mr, body)
	if err != nil {
		return err
	}
	defer form.close()
	ctx := r.Context()

	if form.token != "" {
		first, err := s.Metadata.ByUploadToken(ctx, form.token)
		switch {
		case err == nil:
			return s.replayed(ctx, first, user, form)
		case !errors.Is(err, photo.ErrNotFound):
			return databaseDown(fmt.Errorf("find upload token: %w", err))
		}
	}
	if err := s.checkPixels(ctx, form); err != nil {
		return err
	}

	key, err := photo.NewKey(form.contentType)
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	// Blob first, then the row: a listed photo always has its bytes. The
	// deadline bounds how long a stored blob may wait for its row, so the
	// orphan sweep (ORPHAN_SWEEP_AFTER, at least 5 minutes) never takes
	// the blob of an upload in flight.
	ctx, cancel := context.WithTimeout(ctx, storeAndRecordLimit)
	defer cancel()
	if err := s.Blobs.Put(ctx, key, form.contentType, form.file, form.info.Size); err != nil {
		return failed(http.StatusBadGateway, "The photo store is unavailable, so the photo was not saved. Please try again.",
			fmt.Errorf("store upload %s: %w", key, err))
	}
	first, err := s.Metadata.Add(ctx, photo.Photo{Username: user, Key: key, ContentType: form.contentType,
		CreatedAt: time.Now(), UploadToken: form.token})
	if err != nil && !errors.Is(err, photo.ErrUploadTokenUsed) && form.token != "" {
		// The insert may have committed before its answer was lost: the
		// token tells.
		found, findErr := s.Metadata.ByUploadToken(ctx, form.token)
		switch {
		case findErr == nil && found.Key == key:
			s.Logger.Warn("record upload: stored despite the error", "key", key, "err", err)
			err = nil
		case findErr == nil:
			first, err = found, photo.ErrUploadTokenUsed
		case !errors.Is(findErr, photo.ErrNotFound):
			// Unknown: a row may point at the blob, so it stays. An
			// unlisted blob is garbage; a listed photo without its
			// bytes would be broken for everyone.
			return databaseDown(fmt.Errorf("record upload %s: outcome unknown; keeping the blob: %w", key, errors.Join(err, findErr)))
		}
	}
	if err != nil {
		cleanupCtx, cancel := detached(ctx)
		defer cancel()
		if delErr := s.Blobs.Delete(cleanupCtx, key); delErr != nil {
			s.Logger.Error("remove orphaned upload", "key", key, "err", delErr)
		}
		if errors.Is(err, photo.ErrUploadTokenUsed) {
			// The same form, sent twice at once: the other one won.
			return s.replayed(ctx, first, user, form)
		}
		return databaseDown(fmt.Errorf("record upload %s: %w", key, err))
	}
	s.invalidatePages(ctx)
	return nil
}

// storeAndRecordLimit is how long an upload may take to store its image
// and record its photo; ORPHAN_SWEEP_AFTER's floor in package config stays
// well above it.
const storeAndRecordLimit = 2 * time.Minute

// databaseDown is an upload the database could not record, for cause.
func databaseDown(cause error) error {
	return failed(http.StatusServiceUnavailable,
		"The photo database is unavailable, so the photo was not saved. Please try again.", cause)
}

// uploadToken is a fresh one-time token for a logged-in visitor's upload
// form: sent back with the photo, it lets a retried request find the first
// one's photo instead of adding it twice, on any server.
func uploadToken(user string) string {
	if user == "" {
		return ""
	}
	return photo.NewUploadToken()
}

// invalidatePages makes every server's next front page read the database.
func (s *Server) invalidatePages(ctx context.Context) {
	if s.pages == nil {
		return
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := s.pages.invalidate(ctx); err != nil {
		s.Logger.Warn("invalidate page cache; retrying", "err", err)
		s.pages.invalidateLater(s.Logger, nil)
	}
}

// replayed answers an upload whose token is already recorded with first:
// if it repeats that upload, as the first request was answered.
func (s *Server) replayed(ctx context.Context, first photo.Photo, user string, form *uploadForm) error {
	if err := s.sameUpload(ctx, first, user, form); err != nil {
		return err
	}
	// The first request may have died before invalidating.
	s.invalidatePages(ctx)
	return nil
}

// lingerOnRefusal answers a refused upload with its error page at once,
// whatever is left of the body. Then it lingers: it reads and drops the
// rest of the body for a few seconds, up to what an upload may send, as web
// servers do before closing, so a client still sending sees this answer
// rather than a reset connection. Nothing read is kept.
func (s *Server) lingerOnRefusal(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		body := r.Body // before the handler wraps it
		err := h(w, r)
		if err == nil {
			return nil
		}
		s.Metrics.upload("rejected")
		var he *httpError
		if !errors.As(err, &he) {
			err = failed(http.StatusInternalServerError, "The photo could not be saved.", err)
		}
		rc := http.NewResponseController(w)
		// Without this, net/http reads up to 256 KiB of the body before it
		// sends any answer.
		fullDuplex := rc.EnableFullDuplex() == nil
		w.Header().Set("Connection", "close")
		s.serveError(w, r, err)
		if limit := s.opts.MaxUploadBytes + multipartOverhead; fullDuplex && r.ContentLength <= limit && rc.Flush() == nil {
			_ = rc.SetReadDeadline(time.Now().Add(lingerFor))
			_, _ = io.CopyN(io.Discard, body, limit)
		}
		return nil
	}
}

// sameUpload checks that an upload whose token is already recorded repeats
// the first one: same user, same photo. Only then may it be answered as the
// first one was; a form reused for another photo must not vanish silently.
func (s *Server) sameUpload(ctx context.Context, first photo.Photo, user string, form *uploadForm) error {
	reused := reject(http.StatusConflict, "This upload form was already used for another photo. Reload the page and try again.")
	if first.Username != user {
		return reused
	}
	stored, _, err := s.Blobs.Open(ctx, first.Key)
	if err != nil {
		return storeDown(fmt.Errorf("open first upload %s: %w", first.Key, err))
	}
	defer stored.Close()
	storedSum, err := digest(stored)
	if err != nil {
		return storeDown(fmt.Errorf("read first upload %s: %w", first.Key, err))
	}
	if _, err := form.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sentSum, err := digest(form.file)
	if err != nil {
		return err
	}
	if storedSum != sentSum {
		return reused
	}
	return nil
}

// storeDown is a replayed upload whose first photo could not be read back.
func storeDown(cause error) error {
	return failed(http.StatusBadGateway, "The photo store is unavailable right now. Please try again.", cause)
}

func digest(r io.Reader) ([sha256.Size]byte, error) {
	h := sha256.New()
	_, err := io.Copy(h, r)
	return [sha256.Size]byte(h.Sum(nil)), err
}

// uploadForm is what the form carried: the token, and the photo, cleaned,
// in a temporary file.
type uploadForm struct {
	token       string
	contentType string
	file        *os.File
	info        imagefile.Info
}

// close removes the temporary file.
func (f *uploadForm) close() {
	if f.file != nil {
		_ = f.file.Close()
		_ = os.Remove(f.file.Name())
	}
}

// readForm reads the multipart form: the token and the photo, in either
// order. On error nothing is left behind.
func (s *Server) readForm(mr *multipart.Reader, body *formBody) (_ *uploadForm, err error) {
	form := &uploadForm{}
	defer func() {
		if err != nil {
			form.close()
		}
	}()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readError(err)
		}
		if parts == maxFormParts {
			return nil, reject(http.StatusBadRequest, "The upload form has too many fields.")
		}
		switch part.FormName() {
		case tokenField:
			raw, err := io.ReadAll(io.LimitReader(part, 64))
			if err != nil {
				return nil, readError(err)
			}
			token := strings.TrimSpace(string(raw))
			if token != "" && !photo.ValidUploadToken(token) {
				return nil, reject(http.StatusBadRequest, "The upload form is out of date. Reload the page and try again.")
			}
			form.token = token
		case photoField:
			if form.file != nil {
				return nil, reject(http.StatusBadRequest, "Send one photo at a time.")
			}
			if err := s.readPhoto(part, body, form); err != nil {
				return nil, err
			}
		}
	}
	if form.file == nil {
		return nil, reject(http.StatusBadRequest, "Choose a photo to upload.")
	}
	return form, nil
}

// readPhoto sniffs the photo's type from its first bytes, refusing a wrong
// one before reading on, then streams it through imagefile.Clean into a
// temporary file.
func (s *Server) readPhoto(part io.Reader, body *formBody, form *uploadForm) error {
	in := bufio.NewReaderSize(&photoReader{part: part, body: body, limit: s.opts.MaxUploadBytes}, 32<<10)
	head, err := in.Peek(sniffLen)
	if err != nil && err != io.EOF {
		return cleanError(err, s.opts.MaxUploadBytes)
	}
	if len(head) == 0 {
		return reject(http.StatusBadRequest, "The file is empty.")
	}
	contentType := http.DetectContentType(head)
	if _, ok := photo.Extensions[contentType]; !ok {
		return reject(http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP images are accepted.")
	}
	file, err := os.CreateTemp(s.opts.TempDir, "upload-*")
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	form.file, form.contentType = file, contentType
	if form.info, err = imagefile.Clean(contentType, in, file); err != nil {
		return cleanError(err, s.opts.MaxUploadBytes)
	}
	return nil
}

// cleanError says why a photo was refused while it was read.
func cleanError(err error, limit int64) error {
	var be *bodyError
	switch {
	case errors.Is(err, errFileTooLarge):
		return tooLarge(limit)
	case errors.As(err, &be):
		return readError(be.err)
	case errors.Is(err, imagefile.ErrTruncated):
		return reject(http.StatusUnsupportedMediaType, "The image is cut short: the file ends before the image does.")
	case errors.Is(err, imagefile.ErrTrailingData):
		return reject(http.StatusUnsupportedMediaType, "The file has data after the end of the image.")
	case errors.Is(err, imagefile.ErrAnimatedWebP):
		return reject(http.StatusUnsupportedMediaType, "Animated WebP images are not accepted.")
	case errors.Is(err, imagefile.ErrMalformed):
		return errNotAnImage
	}
	return err
}

var errNotAnImage = reject(http.StatusUnsupportedMediaType, "The file is not a readable image.")

// checkPixels checks the dimensions against the pixel cap, then decodes the
// whole image within the decode budget.
func (s *Server) checkPixels(ctx context.Context, form *uploadForm) error {
	if _, err := form.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cfg, _, err := image.DecodeConfig(bufio.NewReader(form.file))
	if err != nil {
		return errNotAnImage
	}
	limit := int64(s.opts.MaxImagePixels)
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > limit {
		return reject(http.StatusUnprocessableEntity,
			"The image is %d×%d pixels; the limit is %d pixels in all.", cfg.Width, cfg.Height, limit)
	}
	if form.info.FramePixels > limit {
		return reject(http.StatusUnprocessableEntity,
			"The animation's %d frames hold %d pixels; the limit is %d pixels in all.", form.info.Frames, form.info.FramePixels, limit)
	}

	// The deepest image the pixel cap allows, 16-bit RGBA, takes 8 bytes
	// a pixel; no image may take more, whatever its encoding.
	cost := imagefile.DecodeCost(form.contentType, cfg, form.info)
	if most := 8 * limit; cost > most {
		return reject(http.StatusUnprocessableEntity,
			"The image would take %d MB of memory to check; the limit is %d MB.", cost>>20, most>>20)
	}
	release, err := s.decodes.acquire(ctx, cost)
	if err != nil {
		return failed(http.StatusServiceUnavailable, "The upload was cancelled.", err)
	}
	defer release()
	if _, err := form.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	err = imagefile.Decode(form.contentType, bufio.NewReader(form.file))
	switch {
	case cost >= decodeBudget:
		// It ran alone. Give its pages back to the system too: small
		// allocations would settle in them, and the next large image
		// would take fresh ones.
		debug.FreeOSMemory()
	case cost > collectAfter:
		runtime.GC()
	}
	if err != nil {
		return reject(http.StatusUnsupportedMediaType, "The image is damaged: its pixels do not decode.")
	}
	_, err = form.file.Seek(0, io.SeekStart)
	return err
}

// formBody is the request body, as the form reads it. The photo's bytes are
// granted back as they are read, so the rest of the form (boundaries,
// headers, other fields) can take only multipartOverhead: a form cannot
// make the server hold megabytes of part headers.
type formBody struct {
	r         io.Reader
	allowance int64
}

func (b *formBody) Read(p []byte) (int, error) {
	if b.allowance <= 0 {
		return 0, errFormTooLarge
	}
	if int64(len(p)) > b.allowance {
		p = p[:b.allowance]
	}
	n, err := b.r.Read(p)
	b.allowance -= int64(n)
	return n, err
}

// Close closes the request body, so the server still sees it.
func (b *formBody) Close() error {
	if c, ok := b.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// photoReader reads the photo's part: at most limit bytes, granting each to
// the form body, and marking a failure of the request as such, so a form
// cut short is not mistaken for an image cut short.
type photoReader struct {
	part  io.Reader
	body  *formBody
	limit int64
	read  int64
}

func (p *photoReader) Read(b []byte) (int, error) {
	if p.read > p.limit {
		return 0, errFileTooLarge
	}
	if room := p.limit + 1 - p.read; int64(len(b)) > room {
		b = b[:room]
	}
	n, err := p.part.Read(b)
	p.read += int64(n)
	p.body.allowance += int64(n)
	if p.read > p.limit {
		return n, errFileTooLarge
	}
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// bodyError is the request body failing while the photo was read.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func readError(err error) error {
	if errors.Is(err, errFormTooLarge) {
		return reject(http.StatusRequestEntityTooLarge, "The upload form carries too much besides the photo.")
	}
	return reject(http.StatusBadRequest, "The upload was malformed or cut short.")
}

func tooLarge(limit int64) error {
	return reject(http.StatusRequestEntityTooLarge, "The file is larger than %d MiB.", max(1, limit>>20))
}

// memoryBudget shares a number of bytes among full decodes. Decodes take
// turns in arrival order; one that needs more than the whole budget waits
// until it can run alone.
type memoryBudget struct {
	total int64
	turn  chan struct{} // held by the one waiting for memory
	mu    sync.Mutex
	free  int64
	freed chan struct{} // closed and replaced on every release
}

func newMemoryBudget(total int64) *memoryBudget {
	return &memoryBudget{total: total, free: total, turn: make(chan struct{}, 1), freed: make(chan struct{})}
}

// acquire waits until n bytes (at most the whole budget) are free, or ctx
// ends, and returns the function that gives them back.
func (b *memoryBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	n = max(1, min(n, b.total))
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.turn }()
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return sync.OnceFunc(func() {
				b.mu.Lock()
				b.free += n
				close(b.freed)
				b.freed = make(chan struct{})
				b.mu.Unlock()
			}), nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
