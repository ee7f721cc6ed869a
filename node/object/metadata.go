package object

import (
	"maps"

	"github.com/gridstore/gridstore/storage"
)

// contentHeaders maps the content headers kept in a version's metadata map
// to their Metadata fields.
func contentHeaders(m *Metadata) map[string]*string {
	return map[string]*string{
		keyContentEncoding:    &m.ContentEncoding,
		keyContentDisposition: &m.ContentDisposition,
		keyContentLanguage:    &m.ContentLanguage,
		keyCacheControl:       &m.CacheControl,
		keyExpires:            &m.Expires,
	}
}

// storeMetadata puts m into a version: Content-Type in its field, the other
// content headers and the user metadata in its metadata map. Empty headers
// are not stored: S3 does not distinguish them from absent ones.
func storeMetadata(v *storage.FileVersion, m Metadata) {
	v.ContentType = m.ContentType
	v.UserMetadata = nil
	if len(m.User) > 0 {
		v.UserMetadata = maps.Clone(m.User)
	}
	for k, p := range contentHeaders(&m) {
		if *p == "" {
			continue
		}
		if v.UserMetadata == nil {
			v.UserMetadata = map[string]string{}
		}
		v.UserMetadata[k] = *p
	}
}

// loadMetadata is the inverse of storeMetadata.
func loadMetadata(v *storage.FileVersion) Metadata {
	m := Metadata{ContentType: v.ContentType}
	headers := contentHeaders(&m)
	for k, val := range v.UserMetadata {
		if p, ok := headers[k]; ok {
			*p = val
			continue
		}
		if m.User == nil {
			m.User = map[string]string{}
		}
		m.User[k] = val
	}
	return m
}

// objectInfo describes the version fi for clients.
func objectInfo(bucket, object string, fi *storage.FileInfo) ObjectInfo {
	return ObjectInfo{
		Bucket:       bucket,
		Name:         object,
		VersionID:    fi.VersionID,
		Size:         fi.Size,
		ETag:         fi.ETag,
		ModTime:      fi.ModTime,
		Metadata:     loadMetadata(&fi.FileVersion),
		DataShards:   fi.Erasure.DataBlocks,
		ParityShards: fi.Erasure.ParityBlocks,
		Inline:       fi.DataDir == "",
		PartsCount:   multipartCount(fi),
	}
}
