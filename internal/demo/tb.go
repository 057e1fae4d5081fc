package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
)

// demoTB is the testing.TB that internal/topology asks for, for a program:
// failures end the demo (after its cleanups run), cleanups run once, on
// exit or on a signal. Only the methods topology calls are implemented;
// the embedded nil interface makes any other call panic loudly.
type demoTB struct {
	testing.TB
	out      io.Writer
	mu       sync.Mutex
	cleanups []func()
	once     sync.Once
	failed   bool
}

func newTB(out io.Writer) *demoTB { return &demoTB{out: out} }

// fatal unwinds the demo from a Fatalf, as t.Fatal ends a test.
type fatal struct{}

func (d *demoTB) Helper()                 {}
func (d *demoTB) Name() string            { return "demo" }
func (d *demoTB) Logf(f string, a ...any) { fmt.Fprintf(d.out, f+"\n", a...) }
func (d *demoTB) Errorf(f string, a ...any) {
	d.failed = true
	fmt.Fprintf(d.out, "demo: "+f+"\n", a...)
}
func (d *demoTB) Fatalf(f string, a ...any) { d.Errorf(f, a...); panic(fatal{}) }
func (d *demoTB) Fatal(a ...any)            { d.Fatalf("%s", fmt.Sprint(a...)) }
func (d *demoTB) Skip(a ...any)             { d.Fatal(a...) }
func (d *demoTB) Cleanup(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cleanups = append(d.cleanups, f)
}

// cleanup runs the cleanups, last registered first, once.
func (d *demoTB) cleanup() {
	d.once.Do(func() {
		d.mu.Lock()
		fs := slices.Clone(d.cleanups)
		d.mu.Unlock()
		for _, f := range slices.Backward(fs) {
			f()
		}
	})
}

// run runs the demo and its cleanups and returns the exit code.
func (d *demoTB) run(demo func() error) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				d.cleanup()
				panic(r)
			}
			code = 1
		}
		d.cleanup()
		if d.failed && code == 0 {
			code = 1
		}
	}()
	if err := demo(); err != nil {
		fmt.Fprintf(d.out, "demo: %v\n", err)
		return 1
	}
	return 0
}
