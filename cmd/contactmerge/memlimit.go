package main

import (
	"bufio"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// setMemoryLimit gives the Go runtime a soft memory limit of 80% of the
// machine's memory when GOMEMLIMIT does not set one. Without it the
// garbage collector lets a heap grow to twice what is live: a sandbox of
// 10,000,000 contacts (14 GiB live) grew to 22.5 GiB of a 24 GiB machine
// while it served a scan, with nothing left for the page cache (18.1 GiB
// with the limit). Near the limit the collector works harder instead (the
// scan that sandbox served took 288 s with the limit, 240 s without, one
// run each); below it nothing changes. Where the machine's memory cannot be read (no /proc), nothing
// is set.
func setMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return
	}
	defer f.Close()
	if total, ok := memTotal(f); ok {
		debug.SetMemoryLimit(memoryLimit(total))
	}
}

// memoryLimit is the soft limit for a machine of total bytes.
func memoryLimit(total int64) int64 { return total / 10 * 8 }

// memTotal reads MemTotal (bytes) from /proc/meminfo's text.
func memTotal(r io.Reader) (int64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		n, err := strconv.ParseInt(kb, 10, 64)
		if err != nil || n <= 0 || unit != "kB" {
			return 0, false
		}
		return n << 10, true
	}
	return 0, false
}
