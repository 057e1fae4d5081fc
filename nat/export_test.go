package nat

// What nat's external tests (package nat_test) need of its internals. The
// shared fixtures (the full configuration, the golden-file check, the kind
// lists) are internal/testcfg's and MustPlan is nattest's: one copy each.

// FakeLocked reports whether f's lock is held (by the caller's call).
func FakeLocked(f *Fake) bool {
	if f.mu.TryLock() {
		f.mu.Unlock()
		return false
	}
	return true
}
