//go:build !linux

package doublebuf

import "errors"

// firstPageCached cannot tell here (mincore is Linux's in this package).
func firstPageCached(string) (bool, error) { return false, errors.ErrUnsupported }
