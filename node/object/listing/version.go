package listing

import (
	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
)

// version is what one drive's record says about the latest version of an
// object: its key (versions.Key: the fields that make two drives' records
// the same version, compared as the object layer's reads compare them) and
// the few fields only a listing shows. Inline data, parts and system
// metadata are dropped as soon as the record is decoded, so that the
// entries buffered per drive stay small.
type version struct {
	key versions.Key

	contentType string
	userMeta    map[string]string
}

// latestVersion decodes an object's record as WalkDir reported it and
// returns its latest version, after checking that its erasure layout can be
// one of a set of n drives (versions.CheckErasure). A record that fails
// either check is not a vote.
func latestVersion(raw []byte, n int) (version, error) {
	m, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		return version{}, err
	}
	v := &m.Versions[0]
	if err := versions.CheckErasure(v, n); err != nil {
		return version{}, err
	}
	return version{
		key:         versions.KeyOf(v),
		contentType: v.ContentType,
		userMeta:    v.UserMetadata,
	}, nil
}

func (v *version) objectInfo(bucket, name string) ObjectInfo {
	k := &v.key
	return ObjectInfo{
		Bucket:       bucket,
		Name:         name,
		VersionID:    k.VersionID(),
		Size:         k.Size(),
		ETag:         k.ETag(),
		ModTime:      k.ModTime(),
		ContentType:  v.contentType,
		UserMetadata: v.userMeta,
		DataShards:   k.DataBlocks(),
		ParityShards: k.ParityBlocks(),
		Inline:       k.DataDir() == "",
	}
}
