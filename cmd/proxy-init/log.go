package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// utcTime writes record times in UTC. Besides being what an init
// container's log is usually read in, it spares every run loading the local
// zone (/etc/localtime), a tenth of the time a small install takes.
func utcTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
		a.Value = slog.TimeValue(a.Value.Time().UTC())
	}
	return a
}

// levelAliases are upstream's (logrus) level names that slog does not know,
// mapped to the nearest slog level, so that a manifest's --log-level works.
var levelAliases = map[string]string{"trace": "debug", "warning": "warn", "fatal": "error", "panic": "error"}

// newLogger builds the run's logger. An unknown --log-format is not an
// error: upstream logs plain text for anything but "json", so do we, and
// warn names the value; an unknown --log-level is refused, as upstream
// refuses it.
func newLogger(w io.Writer, format, level string) (log *slog.Logger, warn string, err error) {
	if l, ok := levelAliases[strings.ToLower(level)]; ok {
		level = l
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, "", &nat.ConfigError{Flag: "--log-level", Value: level, Reason: "must be debug, info, warn or error (or trace, warning, fatal, panic)"}
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: utcTime}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), "", nil
	case "plain", "":
	default:
		warn = "unknown --log-format " + `"` + format + `"` + ", logging plain text (as upstream does)"
	}
	return slog.New(slog.NewTextHandler(w, opts)), warn, nil
}

// jsonLogger writes the final error record of a run with --log-format json,
// whatever --log-level says, as the logger would have written it.
func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: utcTime}))
}
