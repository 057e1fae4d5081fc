package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"trace": slog.LevelDebug, "debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warning": slog.LevelWarn,
		"warn": slog.LevelWarn, "error": slog.LevelError, "Fatal": slog.LevelError, "panic": slog.LevelError,
	} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "verbose", "9"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) accepted", bad)
		}
	}
}

// TestNewWritesUTC: both formats write the time in UTC, whatever the
// process's zone, and honour the level.
func TestNewWritesUTC(t *testing.T) {
	time.Local = time.FixedZone("X", 5*3600)
	defer func() { time.Local = time.UTC }()
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo, true).Info("hello")
	New(&buf, slog.LevelInfo, true).Debug("hidden")
	var rec struct{ Time string }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || !strings.HasSuffix(rec.Time, "Z") {
		t.Fatalf("JSON record %q: %v; want one record, time in UTC", buf.String(), err)
	}
	buf.Reset()
	New(&buf, slog.LevelInfo, false).Info("hello")
	if !strings.Contains(buf.String(), "Z level=INFO") {
		t.Fatalf("plain record %q: want time in UTC", buf.String())
	}
}
