package server

// ForgetLocalPages drops the photo list and generation s keeps in memory,
// so its next front page asks the shared cache.
func ForgetLocalPages(s *Server) {
	if s.pages != nil {
		s.pages.local.Store(nil)
		s.pages.gen.Store(nil)
	}
}
