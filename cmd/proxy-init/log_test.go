package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Log times are written in UTC whatever zone the record was made in.
func TestLogTimesAreUTC(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 5*3600+1800))
	for format, want := range map[string]string{
		"plain": "time=2026-01-01T21:34:05.000Z ",
		"json":  `"time":"2026-01-01T21:34:05Z"`,
	} {
		var buf bytes.Buffer
		log, _, err := newLogger(&buf, format, "info")
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Handler().Handle(context.Background(), slog.NewRecord(at, slog.LevelInfo, "m", 0)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s: got %q, want it to contain %q", format, buf.String(), want)
		}
	}
}
