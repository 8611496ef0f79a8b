//go:build !linux

package coldstart

// dropFromPageCache is a no-op where posix_fadvise is not available: the
// timings then depend on how the copies happen to be cached.
func dropFromPageCache(string) error { return nil }
