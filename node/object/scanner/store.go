package scanner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DirOf is where a local drive keeps the scanner's and rebuild's cursors:
// its system directory, where no bucket reaches, which the drive's start-up
// wipes and sweep leave alone.
func DirOf(driveRoot string) string {
	return filepath.Join(driveRoot, ".gridstore.sys", "heal")
}

// Store keeps one small JSON record durably in a file of the same name in
// each of its directories (one per local drive, so that losing a drive
// does not lose it) and reads back the newest. A record is written whole
// (a new file, synced, renamed over the old, the directory synced): a
// crash leaves the old one or the new one.
type Store struct {
	Dirs []string
	Name string
}

// envelope dates a record, so that Load can pick the newest.
type envelope struct {
	Saved time.Time
	State json.RawMessage
}

// ErrNoRecord: no directory holds a readable record.
var ErrNoRecord = errors.New("scanner: no saved record")

// Save stores v (JSON) in every directory; it succeeds if one took it.
func (s Store) Save(v any) error {
	state, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save %s: %w", s.Name, err)
	}
	body, err := json.Marshal(envelope{Saved: time.Now().UTC(), State: state})
	if err != nil {
		return fmt.Errorf("save %s: %w", s.Name, err)
	}
	var errs []error
	for _, dir := range s.Dirs {
		if err := writeFile(dir, s.Name, body); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(s.Dirs) {
		return fmt.Errorf("save %s: %w", s.Name, errors.Join(append(errs, errors.New("no directory"))...))
	}
	return nil
}

// Load reads the newest record into v: ErrNoRecord when there is none (a
// damaged file counts as none: a cursor lost only makes work be redone).
func (s Store) Load(v any) error {
	var best *envelope
	for _, dir := range s.Dirs {
		b, err := os.ReadFile(filepath.Join(dir, s.Name))
		if err != nil {
			continue
		}
		var e envelope
		if json.Unmarshal(b, &e) != nil {
			continue
		}
		if best == nil || e.Saved.After(best.Saved) {
			best = &e
		}
	}
	if best == nil {
		return ErrNoRecord
	}
	if err := json.Unmarshal(best.State, v); err != nil {
		return fmt.Errorf("load %s: %w: %w", s.Name, ErrNoRecord, err)
	}
	return nil
}

// Remove deletes the record from every directory.
func (s Store) Remove() error {
	var errs []error
	for _, dir := range s.Dirs {
		if err := os.Remove(filepath.Join(dir, s.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeFile(dir, name string, body []byte) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
