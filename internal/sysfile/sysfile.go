// Package sysfile opens files outside the Go runtime's network poller.
// os.Open registers every file it opens with the poller, and the first
// registration starts it (an epoll instance, an eventfd, a registration):
// on proxy-init's install path that cost more than the few small /proc and
// namespace files it opens, which never need the poller.
package sysfile

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens path with the open(2) flags given (O_CLOEXEC is added). The
// descriptor is blocking, so os.NewFile leaves it out of the poller.
func Open(path string, flag int) (*os.File, error) {
	fd, err := unix.Open(path, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
