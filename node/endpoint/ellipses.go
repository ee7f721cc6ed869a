package endpoint

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxDrives bounds the drives of a deployment, and so any expansion: 64
// nodes of 16 drives. It keeps a typo such as {1...100000} from allocating
// memory for millions of endpoints before anything else could object.
const MaxDrives = 1024

// maxPatternLen bounds one argument, so MaxDrives expansions of it stay
// small (at most a few MiB).
const maxPatternLen = 4096

// part is a literal or a range of an ellipsis pattern.
type part struct {
	literal    string
	start, end uint64 // a range when literal == "" && isRange
	width      int    // zero padding width, 0 for none
	isRange    bool
}

// Expand expands the ellipsis ranges {A...B} of pattern: A and B are decimal
// numbers, A <= B, and every integer from A to B is substituted in turn. A
// bound written with a leading zero ({01...16}) pads every number to its
// width; both bounds must then have the same width. Several ranges expand as
// a cartesian product, the leftmost varying slowest, so for
// "http://n{1...2}:9000/d{1...2}" the drives of each node are adjacent:
//
//	http://n1:9000/d1 http://n1:9000/d2 http://n2:9000/d1 http://n2:9000/d2
//
// A pattern without braces expands to itself. Braces that do not form a
// range are an error (ErrBadSyntax), as is an expansion of more than
// MaxDrives strings (ErrTooManyDrives), checked before anything is built.
func Expand(pattern string) ([]string, error) {
	parts, count, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, count)
	var b strings.Builder
	// idx[i] is the current value offset of range part i: an odometer whose
	// rightmost wheel turns fastest.
	idx := make([]uint64, len(parts))
	for {
		b.Reset()
		for i, p := range parts {
			if !p.isRange {
				b.WriteString(p.literal)
				continue
			}
			num := strconv.FormatUint(p.start+idx[i], 10)
			for pad := p.width - len(num); pad > 0; pad-- {
				b.WriteByte('0')
			}
			b.WriteString(num)
		}
		out = append(out, b.String())
		i := len(parts) - 1
		for ; i >= 0; i-- {
			if !parts[i].isRange {
				continue
			}
			if idx[i] < parts[i].end-parts[i].start {
				idx[i]++
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// parsePattern splits pattern into literals and ranges and returns the number
// of strings it expands to (at most MaxDrives).
func parsePattern(pattern string) ([]part, int, error) {
	if len(pattern) > maxPatternLen {
		return nil, 0, fmt.Errorf("%w: argument %.40q... of %d bytes, at most %d", ErrBadSyntax, pattern, len(pattern), maxPatternLen)
	}
	var parts []part
	count := 1
	rest := pattern
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			parts = append(parts, part{literal: rest})
			break
		}
		if rest[open] == '}' {
			return nil, 0, fmt.Errorf("%w: %q: '}' without '{' at offset %d", ErrBadSyntax, pattern, len(pattern)-len(rest)+open)
		}
		if open > 0 {
			parts = append(parts, part{literal: rest[:open]})
		}
		closing := strings.IndexAny(rest[open+1:], "{}")
		if closing < 0 || rest[open+1+closing] == '{' {
			return nil, 0, fmt.Errorf("%w: %q: '{' at offset %d has no matching '}'", ErrBadSyntax, pattern, len(pattern)-len(rest)+open)
		}
		body := rest[open+1 : open+1+closing]
		p, err := parseRange(body)
		if err != nil {
			return nil, 0, fmt.Errorf("%w, in {%s} of %q", err, body, pattern)
		}
		n := p.end - p.start + 1
		// Multiply without overflow: both factors are checked against
		// MaxDrives first.
		if p.end-p.start >= MaxDrives || uint64(count)*n > MaxDrives {
			return nil, 0, fmt.Errorf("%w: %q expands to more than %d drives", ErrTooManyDrives, pattern, MaxDrives)
		}
		count *= int(n)
		parts = append(parts, p)
		rest = rest[open+1+closing+1:]
	}
	return parts, count, nil
}

// parseRange parses the inside of {A...B}.
func parseRange(body string) (part, error) {
	a, b, found := strings.Cut(body, "...")
	if !found {
		if body == "" {
			return part{}, ErrEmptyRange
		}
		return part{}, fmt.Errorf("%w: braces must hold a range {A...B}", ErrBadSyntax)
	}
	if a == "" || b == "" {
		return part{}, fmt.Errorf("%w: a bound is missing", ErrEmptyRange)
	}
	start, err := parseBound(a)
	if err != nil {
		return part{}, err
	}
	end, err := parseBound(b)
	if err != nil {
		return part{}, err
	}
	if start > end {
		return part{}, fmt.Errorf("%w: %d > %d", ErrDescendingRange, start, end)
	}
	p := part{start: start, end: end, isRange: true}
	if padded(a) || padded(b) {
		if len(a) != len(b) {
			return part{}, fmt.Errorf("%w: zero-padded bounds %q and %q differ in width", ErrBadSyntax, a, b)
		}
		p.width = len(a)
	}
	return p, nil
}

func padded(s string) bool { return len(s) > 1 && s[0] == '0' }

// parseBound parses a range bound: ASCII decimal digits only (no sign, no
// spaces), at most 18 of them so that arithmetic on bounds cannot overflow.
func parseBound(s string) (uint64, error) {
	if len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: bound %q is not a decimal number", ErrBadSyntax, s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bound %q: %v", ErrBadSyntax, s, err)
	}
	return n, nil
}
