package node

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"runtime/metrics"
	"sync"
	"testing"
)

// oldClusterSecret is the derivation ClusterSecretFor replaced: one HMAC,
// which let a recorded grid token be searched for the root password at
// HMAC speed.
func oldClusterSecret(user, password string) []byte {
	mac := hmac.New(sha256.New, []byte("gridstore cluster secret v1"))
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	return mac.Sum(nil)
}

// TestClusterSecretFor: the derived secret is stable, long enough for the
// grid, changes with either credential (and with where one ends and the other
// begins), is not the old HMAC, and the memo hands out copies.
func TestClusterSecretFor(t *testing.T) {
	base := ClusterSecretFor(testUser, testPassword)
	if len(base) != kdfKeyLen || len(base) < 16 {
		t.Fatalf("secret of %d bytes, want %d (the grid wants 16 or more)", len(base), kdfKeyLen)
	}
	if again := ClusterSecretFor(testUser, testPassword); !bytes.Equal(again, base) {
		t.Fatal("two derivations for the same credentials differ")
	}
	if fresh := deriveClusterSecret(testUser, testPassword); !bytes.Equal(fresh, base) {
		t.Fatal("the memoized secret is not the one the KDF derives")
	}
	if bytes.Equal(base, oldClusterSecret(testUser, testPassword)) {
		t.Fatal("the secret is still the old HMAC of the credentials")
	}
	others := map[string][2]string{
		"other user":     {testUser + "x", testPassword},
		"other password": {testUser, testPassword + "x"},
		"shifted split":  {testUser + testPassword[:1], testPassword[1:]},
		"swapped":        {testPassword, testUser},
	}
	for name, c := range others {
		if s := ClusterSecretFor(c[0], c[1]); bytes.Equal(s, base) {
			t.Errorf("%s: same secret as the test credentials", name)
		}
	}

	// Callers may scribble on their copy.
	base[0] ^= 0xff
	if again := ClusterSecretFor(testUser, testPassword); bytes.Equal(again, base) {
		t.Fatal("changing a returned secret changed the memoized one")
	}
}

// TestClusterSecretForConcurrent: nodes started together ask at once; they
// all get the same secret (and the race detector sees the memo's sharing).
func TestClusterSecretForConcurrent(t *testing.T) {
	const user, password = "concurrent-user", "concurrent-password"
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() { got[i] = ClusterSecretFor(user, password) })
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("caller %d got another secret", i)
		}
	}
}

// BenchmarkClusterSecretDerivation is the cost of one derivation without
// the memo: what a node pays once at start, and what an attacker pays per
// password guessed against a recorded grid token.
func BenchmarkClusterSecretDerivation(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = deriveClusterSecret(testUser, testPassword)
	}
}

// BenchmarkClusterSecretOld is the HMAC it replaced, for comparison.
func BenchmarkClusterSecretOld(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = oldClusterSecret(testUser, testPassword)
	}
}

// TestClusterSecretLeavesNoHeapGoal: Argon2id's 64 MiB are garbage once the
// secret is derived, but a collection that saw them live would set the
// heap's next goal to twice that, and a node would fill it with garbage
// before it collects again (docs/benchmarks.md, "Memory: the heap goal the
// cluster secret left behind"). The derivation collects and gives the pages
// back, so the last collection's live heap, which the goal follows, is the
// heap actually in use.
func TestClusterSecretLeavesNoHeapGoal(t *testing.T) {
	deriveClusterSecret("goal-user", "goal-password")
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	metrics.Read(sample)
	live, goal := sample[0].Value.Uint64(), sample[1].Value.Uint64()
	if live >= kdfMemory<<10 {
		t.Errorf("live heap at the last collection after deriving the cluster secret: %d MiB (goal %d MiB), want below Argon2id's %d MiB",
			live>>20, goal>>20, kdfMemory>>10)
	}
}
