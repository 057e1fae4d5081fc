// Package logging is the log/slog setup the front ends share, written once:
// upstream's level names (logrus's, which slog partly lacks) and handlers
// that write times in UTC, plain text or JSON.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// aliases are logrus's level names that slog does not know, mapped to the
// nearest slog level, so that a manifest written for upstream works.
var aliases = map[string]string{"trace": "debug", "warning": "warn", "fatal": "error", "panic": "error"}

// ParseLevel reads a level as upstream's manifests spell it: slog's names
// (debug, info, warn, error, in any case, with slog's +N/-N offsets) and
// logrus's trace, warning, fatal and panic. The caller names its flag or
// key in the error it makes of a failure.
func ParseLevel(s string) (slog.Level, error) {
	if l, ok := aliases[strings.ToLower(s)]; ok {
		s = l
	}
	var lv slog.Level
	err := lv.UnmarshalText([]byte(s))
	return lv, err
}

// New logs to w at level, as JSON if json is set and as plain text
// otherwise, with times in UTC.
func New(w io.Writer, level slog.Level, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: utcTime}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// utcTime writes record times in UTC. Besides being what an init
// container's or a runtime's log is usually read in, it spares every run
// loading the local zone (/etc/localtime), a noticeable part of a small
// install's time.
func utcTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
		a.Value = slog.TimeValue(a.Value.Time().UTC())
	}
	return a
}
