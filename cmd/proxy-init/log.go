package main

import (
	"io"
	"log/slog"

	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/proxy-init/netlink-native/nat"
)

// newLogger builds the run's logger. An unknown --log-format is not an
// error: upstream logs plain text for anything but "json", so do we, and
// warn names the value; an unknown --log-level is refused, as upstream
// refuses it.
func newLogger(w io.Writer, format, level string) (log *slog.Logger, warn string, err error) {
	lv, err := logging.ParseLevel(level)
	if err != nil {
		return nil, "", &nat.ConfigError{Name: "--log-level", Value: level, Reason: "must be debug, info, warn or error (or trace, warning, fatal, panic)"}
	}
	switch format {
	case "json", "plain", "":
	default:
		warn = "unknown --log-format " + `"` + format + `"` + ", logging plain text (as upstream does)"
	}
	return logging.New(w, lv, format == "json"), warn, nil
}

// jsonLogger writes the final error record of a run with --log-format json,
// whatever --log-level says, as the logger would have written it.
func jsonLogger(w io.Writer) *slog.Logger {
	return logging.New(w, slog.LevelInfo, true)
}
